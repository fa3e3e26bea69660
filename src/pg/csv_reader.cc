#include "pg/csv_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cdc::pg {
namespace {

// Bytes that end the fast scan of an unquoted field.
struct SpecialTable {
  bool v[256] = {};
  constexpr SpecialTable() {
    v[static_cast<unsigned char>(',')] = true;
    v[static_cast<unsigned char>('"')] = true;
    v[static_cast<unsigned char>('\r')] = true;
    v[static_cast<unsigned char>('\n')] = true;
  }
};
constexpr SpecialTable kSpecial;

constexpr const char* kQuoteInUnquoted =
    "a quote inside an unquoted field (quote the whole field and double the quote: \"a \"\"b\"\"\")";
constexpr const char* kTextAfterQuote = "text after the closing quote of a field (double a quote inside a quoted field)";
constexpr const char* kBareCr = "a carriage return inside an unquoted field (quote the field)";

}  // namespace

uint32_t CsvRecord::ColumnAt(uint32_t line_start, uint32_t offset) const {
  uint32_t col = 1;
  for (uint32_t i = line_start; i < offset && i < raw_.size(); ++i) {
    if ((static_cast<unsigned char>(raw_[i]) & 0xC0) != 0x80) ++col;
  }
  return col;
}

uint32_t CsvRecord::Column(size_t i) const { return ColumnAt(fields_[i].line_start, fields_[i].offset); }

CsvReader::CsvReader(int fd, std::string name, const Options& opts)
    : fd_(fd), name_(std::move(name)), opts_(opts) {
  if (opts_.block_size == 0) opts_.block_size = 1;
  cap_ = opts_.block_size;
  buf_.reset(new char[cap_]);
}

CsvReader::~CsvReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path, const Options& opts) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return Status::NotFound(path + ": no such file (check the path or --dir)");
    return Status::IoError(path + ": cannot open: " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::IoError(path + ": is a directory, not a CSV file");
  }
  std::unique_ptr<CsvReader> r(new CsvReader(fd, path, opts));
  r->file_size_ = static_cast<uint64_t>(st.st_size);
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return r;
}

std::unique_ptr<CsvReader> CsvReader::FromString(std::string data, const Options& opts, std::string name) {
  std::unique_ptr<CsvReader> r(new CsvReader(-1, std::move(name), opts));
  r->mem_ = std::move(data);
  return r;
}

Status CsvReader::Refill() {
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == cap_) {
    // One record fills the whole buffer: grow it, within the bound.
    if (cap_ >= opts_.max_record_bytes) {
      return Status::InvalidArgument(name_ + ":" + std::to_string(line_) + ":1: a record longer than " +
                                     std::to_string(opts_.max_record_bytes >> 20) +
                                     " MiB (an unterminated quote?)");
    }
    size_t ncap = std::min(cap_ * 2, opts_.max_record_bytes);
    std::unique_ptr<char[]> nbuf(new char[ncap]);
    std::memcpy(nbuf.get(), buf_.get(), end_);
    buf_ = std::move(nbuf);
    cap_ = ncap;
  }
  size_t want = cap_ - end_;
  if (fd_ < 0) {
    size_t n = std::min({want, opts_.block_size, mem_.size() - mem_pos_});
    std::memcpy(buf_.get() + end_, mem_.data() + mem_pos_, n);
    mem_pos_ += n;
    end_ += n;
    bytes_read_ += n;
    if (n == 0) eof_ = true;
    return Status::OK();
  }
  for (;;) {
    ssize_t n = ::read(fd_, buf_.get() + end_, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(name_ + ": read failed: " + std::strerror(errno));
    }
    if (n == 0) eof_ = true;
    end_ += static_cast<size_t>(n);
    bytes_read_ += static_cast<uint64_t>(n);
    return Status::OK();
  }
}

int CsvReader::ParseRecord(CsvRecord* rec, Status* err) {
  const char* b = buf_.get();
  // Skip empty lines.
  for (;;) {
    if (pos_ >= end_) return eof_ ? 3 : 0;
    if (b[pos_] == '\n') {
      ++pos_;
      ++line_;
      continue;
    }
    if (b[pos_] == '\r') {
      if (pos_ + 1 >= end_ && !eof_) return 0;
      if (pos_ + 1 < end_ && b[pos_ + 1] == '\n') {
        pos_ += 2;
        ++line_;
        continue;
      }
    }
    break;
  }

  const size_t s = pos_;
  size_t p = s;
  uint64_t line = line_;
  size_t ls = s;  // start of the current physical line
  size_t rec_end = 0;
  const char* error = nullptr;
  size_t error_at = 0, error_ls = 0;
  uint64_t error_line = 0;
  slots_.clear();
  scratch_.clear();

  for (;;) {
    Slot slot{};
    slot.line = static_cast<uint32_t>(line);
    slot.line_start = static_cast<uint32_t>(ls - s);
    slot.offset = static_cast<uint32_t>(p - s);
    char c;
    if (p < end_ && b[p] == '"') {
      slot.quoted = true;
      const size_t vb = ++p;
      bool escaped = false;
      for (;;) {
        while (p < end_ && b[p] != '"' && b[p] != '\n') ++p;
        if (p >= end_) {
          if (!eof_) return 0;
          CsvRecord tmp;
          tmp.raw_ = std::string_view(b + s, end_ - s);
          *err = Status::InvalidArgument(name_ + ":" + std::to_string(slot.line) + ":" +
                                         std::to_string(tmp.ColumnAt(slot.line_start, slot.offset)) +
                                         ": unterminated quoted field: the '\"' that opens it never closes");
          return -1;
        }
        if (b[p] == '\n') {
          ++line;
          ls = ++p;
          continue;
        }
        if (p + 1 >= end_ && !eof_) return 0;
        if (p + 1 < end_ && b[p + 1] == '"') {
          escaped = true;
          p += 2;
          continue;
        }
        break;
      }
      const size_t ve = p++;
      if (escaped) {
        slot.in_scratch = true;
        slot.begin = static_cast<uint32_t>(scratch_.size());
        for (size_t i = vb; i < ve; ++i) {
          scratch_.push_back(b[i]);
          if (b[i] == '"') ++i;  // "" -> "
        }
        slot.len = static_cast<uint32_t>(scratch_.size() - slot.begin);
      } else {
        slot.begin = static_cast<uint32_t>(vb - s);
        slot.len = static_cast<uint32_t>(ve - vb);
      }
      if (p >= end_) {
        if (!eof_) return 0;
        slots_.push_back(slot);
        rec_end = p;
        break;
      }
      c = b[p];
      if (c != ',' && c != '\n' && c != '\r') {
        error = kTextAfterQuote;
      }
    } else {
      const size_t vb = p;
      while (p < end_ && !kSpecial.v[static_cast<unsigned char>(b[p])]) ++p;
      slot.begin = static_cast<uint32_t>(vb - s);
      slot.len = static_cast<uint32_t>(p - vb);
      if (p >= end_) {
        if (!eof_) return 0;
        slots_.push_back(slot);
        rec_end = p;
        break;
      }
      c = b[p];
      if (c == '"') error = kQuoteInUnquoted;
    }
    if (error == nullptr) {
      if (c == ',') {
        slots_.push_back(slot);
        ++p;
        continue;
      }
      if (c == '\n') {
        slots_.push_back(slot);
        rec_end = p++;
        ++line;
        break;
      }
      // c == '\r'
      if (p + 1 >= end_ && !eof_) return 0;
      if (p + 1 < end_ && b[p + 1] == '\n') {
        slots_.push_back(slot);
        rec_end = p;
        p += 2;
        ++line;
        break;
      }
      error = kBareCr;
    }
    // Malformed: keep what is left of the line as one last field and resume after the line end.
    error_at = p;
    error_ls = ls;
    error_line = line;
    size_t q = p;
    while (q < end_ && b[q] != '\n') ++q;
    if (q >= end_ && !eof_) return 0;
    rec_end = q;
    if (rec_end > ls && b[rec_end - 1] == '\r' && q < end_) --rec_end;
    slot.in_scratch = false;
    slot.begin = slot.offset;
    slot.len = static_cast<uint32_t>(rec_end - s - slot.offset);
    slots_.push_back(slot);
    p = q < end_ ? q + 1 : q;
    if (q < end_) ++line;
    break;
  }

  rec->raw_ = std::string_view(b + s, rec_end - s);
  rec->line_ = line_;
  rec->fields_.resize(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& sl = slots_[i];
    CsvField& f = rec->fields_[i];
    f.value = sl.in_scratch ? std::string_view(scratch_.data() + sl.begin, sl.len)
                            : std::string_view(b + s + sl.begin, sl.len);
    f.quoted = sl.quoted;
    f.line = sl.line;
    f.line_start = sl.line_start;
    f.offset = sl.offset;
  }
  if (error) {
    rec->error_ = error;
    rec->error_line_ = static_cast<uint32_t>(error_line);
    rec->error_column_ = rec->ColumnAt(static_cast<uint32_t>(error_ls - s), static_cast<uint32_t>(error_at - s));
  } else {
    rec->error_ = {};
    rec->error_line_ = 0;
    rec->error_column_ = 0;
  }
  line_ = line;
  pos_ = p;
  return 1;
}

Result<bool> CsvReader::Next(CsvRecord* rec) {
  for (;;) {
    if (at_start_) {
      if (end_ - pos_ < 3 && !eof_) {
        CDC_RETURN_IF_ERROR(Refill());
        continue;
      }
      if (end_ - pos_ >= 3 && std::memcmp(buf_.get() + pos_, "\xEF\xBB\xBF", 3) == 0) pos_ += 3;
      at_start_ = false;
    }
    Status err;
    int r = ParseRecord(rec, &err);
    if (r == 1) return true;
    if (r == 3) return false;
    if (r < 0) return err;
    CDC_RETURN_IF_ERROR(Refill());
  }
}

void AppendCsvField(std::string* out, std::string_view v) {
  bool quote = !v.empty() && (v.find_first_of(",\"\r\n") != std::string_view::npos || v.front() == ' ' || v.back() == ' ');
  if (!quote) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

bool ValidUtf8(std::string_view s, size_t* bad_at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: 8 ASCII bytes at a time.
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      if (bad_at) *bad_at = i;
      return false;
    }
    if (i + len > n) {
      if (bad_at) *bad_at = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        if (bad_at) *bad_at = i;
        return false;
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      if (bad_at) *bad_at = i;
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace cdc::pg
