#include "pg/pgoutput_decoder.h"

#include <cstring>

#include <fmt/format.h>

namespace cdc::pg {

std::string_view PgOutputTypeName(char type) {
  switch (type) {
    case 'B': return "Begin";
    case 'C': return "Commit";
    case 'O': return "Origin";
    case 'R': return "Relation";
    case 'Y': return "Type";
    case 'I': return "Insert";
    case 'U': return "Update";
    case 'D': return "Delete";
    case 'T': return "Truncate";
    case 'M': return "Message";
    default: return "unknown";
  }
}

namespace {

// Reads big-endian fields from a message, remembering the first failure. Every read checks the
// remaining length first; after a failure reads return zero values and Decode reports the error.
class Reader {
 public:
  Reader(std::string_view bytes, char type) : p_(bytes.data()), n_(bytes.size()), type_(type) {}

  bool ok() const { return error_.empty(); }
  size_t offset() const { return pos_; }
  size_t remaining() const { return n_ - pos_; }

  uint8_t U8(const char* what) {
    if (!Need(1, what)) return 0;
    return static_cast<uint8_t>(p_[pos_++]);
  }
  uint16_t U16(const char* what) {
    if (!Need(2, what)) return 0;
    uint16_t v = static_cast<uint16_t>((Byte(0) << 8) | Byte(1));
    pos_ += 2;
    return v;
  }
  uint32_t U32(const char* what) {
    if (!Need(4, what)) return 0;
    uint32_t v = (Byte(0) << 24) | (Byte(1) << 16) | (Byte(2) << 8) | Byte(3);
    pos_ += 4;
    return v;
  }
  uint64_t U64(const char* what) {
    if (!Need(8, what)) return 0;
    uint64_t hi = (Byte(0) << 24) | (Byte(1) << 16) | (Byte(2) << 8) | Byte(3);
    uint64_t lo = (Byte(4) << 24) | (Byte(5) << 16) | (Byte(6) << 8) | Byte(7);
    pos_ += 8;
    return (hi << 32) | lo;
  }
  // A NUL-terminated string (the view excludes the NUL).
  std::string_view CString(const char* what) {
    if (!ok()) return {};
    const void* nul = pos_ < n_ ? std::memchr(p_ + pos_, '\0', n_ - pos_) : nullptr;
    if (nul == nullptr) {
      Fail(fmt::format("unterminated string at byte {} of {} ({})", pos_, n_, what));
      return {};
    }
    size_t len = static_cast<const char*>(nul) - (p_ + pos_);
    std::string_view s(p_ + pos_, len);
    pos_ += len + 1;
    return s;
  }
  std::string_view Bytes(size_t len, const char* what) {
    if (!Need(len, what)) return {};
    std::string_view s(p_ + pos_, len);
    pos_ += len;
    return s;
  }
  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  Status ToStatus() const {
    return Status::Corruption(fmt::format("pgoutput {} message: {}", PgOutputTypeName(type_), error_));
  }

 private:
  uint32_t Byte(size_t i) const { return static_cast<uint8_t>(p_[pos_ + i]); }
  bool Need(size_t len, const char* what) {
    if (!ok()) return false;
    if (len > n_ - pos_) {
      Fail(fmt::format("truncated at byte {} of {} ({} needs {} bytes)", pos_, n_, what, len));
      return false;
    }
    return true;
  }

  const char* p_;
  size_t n_;
  size_t pos_ = 0;
  char type_;
  std::string error_;
};

// Wraps instead of overflowing for timestamps no server sends (within 292,000 years of 2000 it is exact):
// hostile bytes must decode without undefined behaviour (found by pgoutput_decoder_fuzz_replay_test).
int64_t PgTimeToUnixMicros(uint64_t v) { return static_cast<int64_t>(v + static_cast<uint64_t>(kPgEpochOffsetMicros)); }

void ReadTuple(Reader& r, std::vector<TupleValue>* out) {
  uint16_t ncols = r.U16("column count");
  if (!r.ok()) return;
  // Each column needs at least its kind byte: reject absurd counts before resizing.
  if (ncols > r.remaining()) {
    r.Fail(fmt::format("column count {} at byte {} exceeds the {} bytes left", ncols, r.offset() - 2,
                       r.remaining()));
    return;
  }
  out->resize(ncols);
  for (uint16_t i = 0; i < ncols && r.ok(); ++i) {
    TupleValue& v = (*out)[i];
    size_t at = r.offset();
    char kind = static_cast<char>(r.U8("column kind"));
    switch (kind) {
      case 'n':
        v.kind = TupleValue::Kind::kNull;
        v.data = {};
        break;
      case 'u':
        v.kind = TupleValue::Kind::kUnchangedToast;
        v.data = {};
        break;
      case 't':
      case 'b': {
        v.kind = kind == 't' ? TupleValue::Kind::kText : TupleValue::Kind::kBinary;
        uint32_t len = r.U32("column value length");
        v.data = r.Bytes(len, "column value");
        break;
      }
      default:
        if (r.ok()) r.Fail(fmt::format("unknown column kind 0x{:02x} at byte {} (column {})",
                                       static_cast<uint8_t>(kind), at, i + 1));
    }
  }
}

}  // namespace

Status PgOutputDecoder::Decode(std::string_view bytes, PgOutputMessage* out) const {
  if (bytes.empty()) return Status::Corruption("pgoutput message: empty message (no type byte at byte 0)");
  char type = bytes[0];
  Reader r(bytes, type);
  r.U8("type");
  switch (type) {
    case 'B': {
      out->type = PgOutputType::kBegin;
      out->begin.final_lsn = Lsn(r.U64("final LSN"));
      out->begin.commit_time_us = PgTimeToUnixMicros(r.U64("commit timestamp"));
      out->begin.xid = r.U32("xid");
      break;
    }
    case 'C': {
      out->type = PgOutputType::kCommit;
      out->commit.flags = r.U8("flags");
      out->commit.commit_lsn = Lsn(r.U64("commit LSN"));
      out->commit.end_lsn = Lsn(r.U64("end LSN"));
      out->commit.commit_time_us = PgTimeToUnixMicros(r.U64("commit timestamp"));
      break;
    }
    case 'O': {
      out->type = PgOutputType::kOrigin;
      out->origin.origin_commit_lsn = Lsn(r.U64("origin commit LSN"));
      out->origin.name = r.CString("origin name");
      break;
    }
    case 'R': {
      out->type = PgOutputType::kRelation;
      RelationMessage& rel = out->relation;
      rel.relation_id = r.U32("relation id");
      rel.schema = r.CString("namespace");
      rel.table = r.CString("relation name");
      rel.replica_identity = static_cast<char>(r.U8("replica identity"));
      uint16_t ncols = r.U16("column count");
      if (!r.ok()) break;
      // A column takes at least 10 bytes (flags, empty name, oid, typmod).
      if (static_cast<size_t>(ncols) * 10 > r.remaining()) {
        r.Fail(fmt::format("column count {} at byte {} exceeds the {} bytes left", ncols, r.offset() - 2,
                           r.remaining()));
        break;
      }
      rel.columns.resize(ncols);
      for (uint16_t i = 0; i < ncols && r.ok(); ++i) {
        RelationColumn& c = rel.columns[i];
        c.flags = r.U8("column flags");
        c.name = r.CString("column name");
        c.type_oid = r.U32("column type oid");
        c.type_modifier = static_cast<int32_t>(r.U32("column type modifier"));
      }
      break;
    }
    case 'Y': {
      out->type = PgOutputType::kType;
      out->type_info.type_oid = r.U32("type oid");
      out->type_info.schema = r.CString("namespace");
      out->type_info.name = r.CString("type name");
      break;
    }
    case 'I': {
      out->type = PgOutputType::kInsert;
      RowMessage& row = out->row;
      row.relation_id = r.U32("relation id");
      row.old_kind = 0;
      size_t at = r.offset();
      char n = static_cast<char>(r.U8("tuple marker"));
      if (r.ok() && n != 'N') {
        r.Fail(fmt::format("expected 'N' at byte {}, found 0x{:02x}", at, static_cast<uint8_t>(n)));
        break;
      }
      ReadTuple(r, &row.new_tuple);
      break;
    }
    case 'U': {
      out->type = PgOutputType::kUpdate;
      RowMessage& row = out->row;
      row.relation_id = r.U32("relation id");
      row.old_kind = 0;
      size_t at = r.offset();
      char m = static_cast<char>(r.U8("tuple marker"));
      if (r.ok() && (m == 'K' || m == 'O')) {
        row.old_kind = m;
        ReadTuple(r, &row.old_tuple);
        at = r.offset();
        m = static_cast<char>(r.U8("tuple marker"));
      }
      if (r.ok() && m != 'N') {
        r.Fail(fmt::format("expected 'N' at byte {}, found 0x{:02x}", at, static_cast<uint8_t>(m)));
        break;
      }
      ReadTuple(r, &row.new_tuple);
      break;
    }
    case 'D': {
      out->type = PgOutputType::kDelete;
      RowMessage& row = out->row;
      row.relation_id = r.U32("relation id");
      size_t at = r.offset();
      char m = static_cast<char>(r.U8("tuple marker"));
      if (r.ok() && m != 'K' && m != 'O') {
        r.Fail(fmt::format("expected 'K' or 'O' at byte {}, found 0x{:02x}", at, static_cast<uint8_t>(m)));
        break;
      }
      row.old_kind = m;
      ReadTuple(r, &row.old_tuple);
      row.new_tuple.clear();
      break;
    }
    case 'T': {
      out->type = PgOutputType::kTruncate;
      uint32_t n = r.U32("relation count");
      out->truncate.options = r.U8("options");
      if (!r.ok()) break;
      if (static_cast<uint64_t>(n) * 4 > r.remaining()) {
        r.Fail(fmt::format("relation count {} needs {} bytes at byte {}, {} left", n, uint64_t{n} * 4, r.offset(),
                           r.remaining()));
        break;
      }
      out->truncate.relation_ids.resize(n);
      for (uint32_t i = 0; i < n; ++i) out->truncate.relation_ids[i] = r.U32("relation id");
      break;
    }
    case 'M': {
      out->type = PgOutputType::kMessage;
      out->message.transactional = (r.U8("flags") & 1) != 0;
      out->message.lsn = Lsn(r.U64("LSN"));
      out->message.prefix = r.CString("prefix");
      uint32_t len = r.U32("content length");
      out->message.content = r.Bytes(len, "content");
      break;
    }
    default:
      return Status::Corruption(fmt::format("pgoutput message: unknown message type 0x{:02x} at byte 0 of {}",
                                            static_cast<uint8_t>(type), bytes.size()));
  }
  if (r.ok() && r.remaining() != 0) {
    r.Fail(fmt::format("{} unexpected trailing bytes at byte {} of {}", r.remaining(), r.offset(), bytes.size()));
  }
  if (!r.ok()) return r.ToStatus();
  return Status::OK();
}

namespace {

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      *out += fmt::format("\\x{:02x}", c);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

void AppendTuple(std::string* out, const std::vector<TupleValue>& t) {
  out->push_back('[');
  for (size_t i = 0; i < t.size(); ++i) {
    if (i) out->push_back(',');
    switch (t[i].kind) {
      case TupleValue::Kind::kNull: out->push_back('n'); break;
      case TupleValue::Kind::kUnchangedToast: out->push_back('u'); break;
      case TupleValue::Kind::kText:
        *out += "t:";
        AppendQuoted(out, t[i].data);
        break;
      case TupleValue::Kind::kBinary:
        *out += "b:";
        AppendQuoted(out, t[i].data);
        break;
    }
  }
  out->push_back(']');
}

}  // namespace

std::string DescribePgOutputMessage(const PgOutputMessage& m) {
  std::string s(PgOutputTypeName(static_cast<char>(m.type)));
  switch (m.type) {
    case PgOutputType::kBegin:
      s += fmt::format(" xid={} final_lsn={}", m.begin.xid, m.begin.final_lsn.ToString());
      break;
    case PgOutputType::kCommit:
      s += fmt::format(" flags={} commit_lsn={} end_lsn={}", m.commit.flags, m.commit.commit_lsn.ToString(),
                       m.commit.end_lsn.ToString());
      break;
    case PgOutputType::kOrigin:
      s += fmt::format(" lsn={} name=", m.origin.origin_commit_lsn.ToString());
      AppendQuoted(&s, m.origin.name);
      break;
    case PgOutputType::kRelation: {
      s += fmt::format(" rel={} {}.{} identity={} columns=[", m.relation.relation_id, m.relation.schema, m.relation.table,
                       m.relation.replica_identity);
      for (size_t i = 0; i < m.relation.columns.size(); ++i) {
        const auto& c = m.relation.columns[i];
        s += fmt::format("{}{}:{}:{}{}", i ? "," : "", c.name, c.type_oid, c.type_modifier, c.key() ? ":key" : "");
      }
      s += "]";
      break;
    }
    case PgOutputType::kType:
      s += fmt::format(" oid={} {}.{}", m.type_info.type_oid, m.type_info.schema, m.type_info.name);
      break;
    case PgOutputType::kInsert:
    case PgOutputType::kUpdate:
    case PgOutputType::kDelete:
      s += fmt::format(" rel={}", m.row.relation_id);
      if (m.row.old_kind) {
        s += fmt::format(" {}=", m.row.old_kind);
        AppendTuple(&s, m.row.old_tuple);
      }
      if (m.type != PgOutputType::kDelete) {
        s += " N=";
        AppendTuple(&s, m.row.new_tuple);
      }
      break;
    case PgOutputType::kTruncate:
      s += fmt::format(" relations={} options={}", m.truncate.relation_ids.size(), m.truncate.options);
      break;
    case PgOutputType::kMessage:
      s += fmt::format(" transactional={} prefix=", m.message.transactional);
      AppendQuoted(&s, m.message.prefix);
      s += " content=";
      AppendQuoted(&s, m.message.content);
      break;
  }
  return s;
}

}  // namespace cdc::pg
