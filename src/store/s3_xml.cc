#include "store/s3_xml.h"

#include <charconv>
#include <ctime>

#include <fmt/format.h>

namespace cdc::store::s3xml {
namespace {

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Finds the start tag <tag> or <tag ...> or <tag/> at or after `from`. Returns the position of '<'
// and sets *content_begin (after '>') and *self_closing.
size_t FindStartTag(std::string_view xml, std::string_view tag, size_t from, size_t* content_begin,
                    bool* self_closing) {
  while (true) {
    size_t p = xml.find('<', from);
    if (p == std::string_view::npos) return p;
    size_t name_end = p + 1 + tag.size();
    if (xml.substr(p + 1, tag.size()) == tag && name_end < xml.size() &&
        (xml[name_end] == '>' || xml[name_end] == ' ' || xml[name_end] == '/' || xml[name_end] == '\t' ||
         xml[name_end] == '\n' || xml[name_end] == '\r')) {
      size_t gt = xml.find('>', name_end);
      if (gt == std::string_view::npos) return std::string_view::npos;
      *self_closing = xml[gt - 1] == '/';
      *content_begin = gt + 1;
      return p;
    }
    from = p + 1;
  }
}

}  // namespace

Result<std::string> DecodeText(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out.push_back(raw[i]);
      continue;
    }
    size_t semi = raw.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      return Status::Corruption(fmt::format("malformed XML entity reference near '{}'", raw.substr(i, 12)));
    }
    std::string_view ent = raw.substr(i + 1, semi - i - 1);
    if (ent == "amp") out.push_back('&');
    else if (ent == "lt") out.push_back('<');
    else if (ent == "gt") out.push_back('>');
    else if (ent == "quot") out.push_back('"');
    else if (ent == "apos") out.push_back('\'');
    else if (ent.size() > 1 && ent[0] == '#') {
      uint32_t cp = 0;
      std::from_chars_result r;
      if (ent[1] == 'x' || ent[1] == 'X') {
        r = std::from_chars(ent.data() + 2, ent.data() + ent.size(), cp, 16);
        if (ent.size() == 2) r.ec = std::errc::invalid_argument;
      } else {
        r = std::from_chars(ent.data() + 1, ent.data() + ent.size(), cp, 10);
      }
      if (r.ec != std::errc() || r.ptr != ent.data() + ent.size() || cp > 0x10FFFF || cp == 0) {
        return Status::Corruption(fmt::format("malformed XML character reference '&{};'", ent));
      }
      AppendUtf8(&out, cp);
    } else {
      return Status::Corruption(fmt::format("unknown XML entity '&{};'", ent));
    }
    i = semi;
  }
  return out;
}

Status FindText(std::string_view xml, std::string_view tag, bool* found, std::string* text) {
  *found = false;
  text->clear();
  size_t begin = 0;
  bool self_closing = false;
  size_t p = FindStartTag(xml, tag, 0, &begin, &self_closing);
  if (p == std::string_view::npos) return Status::OK();
  *found = true;
  if (self_closing) return Status::OK();
  std::string close = fmt::format("</{}>", tag);
  size_t end = xml.find(close, begin);
  if (end == std::string_view::npos) return Status::Corruption(fmt::format("XML element <{}> is not closed", tag));
  CDC_ASSIGN_OR_RETURN(*text, DecodeText(xml.substr(begin, end - begin)));
  return Status::OK();
}

Result<std::optional<std::string>> FirstText(std::string_view xml, std::string_view tag) {
  bool found = false;
  std::string text;
  CDC_RETURN_IF_ERROR(FindText(xml, tag, &found, &text));
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(std::move(text));
}

std::vector<std::string_view> Elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string close = fmt::format("</{}>", tag);
  size_t from = 0;
  while (true) {
    size_t begin = 0;
    bool self_closing = false;
    size_t p = FindStartTag(xml, tag, from, &begin, &self_closing);
    if (p == std::string_view::npos) break;
    if (self_closing) {
      out.push_back(std::string_view());
      from = begin;
      continue;
    }
    size_t end = xml.find(close, begin);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(begin, end - begin));
    from = end + close.size();
  }
  return out;
}

Result<int64_t> ParseIso8601Micros(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z
  auto bad = [&] { return Status::Corruption(fmt::format("'{}' is not an ISO 8601 UTC timestamp", text)); };
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':')
    return bad();
  auto num = [&](size_t pos, size_t len, int* v) {
    auto r = std::from_chars(text.data() + pos, text.data() + pos + len, *v);
    return r.ec == std::errc() && r.ptr == text.data() + pos + len;
  };
  struct tm tm {};
  int year, mon, day, hh, mm, ss;
  if (!num(0, 4, &year) || !num(5, 2, &mon) || !num(8, 2, &day) || !num(11, 2, &hh) || !num(14, 2, &mm) ||
      !num(17, 2, &ss))
    return bad();
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  int64_t micros = 0;
  size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    int64_t scale = 100000;
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      micros += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (i >= text.size() || text[i] != 'Z' || i + 1 != text.size()) return bad();
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + micros;
}

Result<ListPage> ParseListObjectsV2(std::string_view xml) {
  ListPage page;
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    return Status::Corruption("ListObjectsV2 answer is not a <ListBucketResult> document");
  }
  for (std::string_view c : Elements(xml, "Contents")) {
    ObjectInfo info;
    bool found = false;
    std::string text;
    CDC_RETURN_IF_ERROR(FindText(c, "Key", &found, &text));
    if (text.empty()) return Status::Corruption("ListObjectsV2 <Contents> without a <Key>");
    info.key = std::move(text);
    CDC_RETURN_IF_ERROR(FindText(c, "Size", &found, &text));
    if (found) {
      auto r = std::from_chars(text.data(), text.data() + text.size(), info.size);
      if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
        return Status::Corruption(fmt::format("ListObjectsV2 <Size> '{}' is not a number", text));
      }
    }
    CDC_RETURN_IF_ERROR(FindText(c, "LastModified", &found, &text));
    if (found) {
      CDC_ASSIGN_OR_RETURN(info.mtime_micros, ParseIso8601Micros(text));
    }
    CDC_RETURN_IF_ERROR(FindText(c, "ETag", &found, &text));
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
    info.etag = std::move(text);
    page.objects.push_back(std::move(info));
  }
  // IsTruncated and NextContinuationToken sit at the top level, after the last <Contents> usually;
  // search outside the <Contents> elements so that a key text cannot be mistaken for them (keys
  // are entity-escaped, so '<' never appears in them anyway).
  bool found = false;
  std::string text;
  CDC_RETURN_IF_ERROR(FindText(xml, "IsTruncated", &found, &text));
  page.truncated = text == "true";
  if (page.truncated) {
    CDC_RETURN_IF_ERROR(FindText(xml, "NextContinuationToken", &found, &text));
    if (text.empty()) return Status::Corruption("ListObjectsV2 answer is truncated but has no NextContinuationToken");
    page.next_token = std::move(text);
  }
  return page;
}

ErrorBody ParseError(std::string_view xml) {
  ErrorBody e;
  bool found = false;
  if (!FindText(xml, "Code", &found, &e.code).ok()) e.code.clear();
  if (!FindText(xml, "Message", &found, &e.message).ok()) e.message.clear();
  return e;
}

}  // namespace cdc::store::s3xml
