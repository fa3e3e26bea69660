#include "parquet/thrift_compact.h"

#include <cstring>

namespace cdc::parquet {

namespace {
constexpr int kMaxDepth = 32;      // Parquet metadata nests 5 levels deep; anything deeper is hostile
constexpr size_t kMaxStructs = 64;  // struct stack limit for BeginStruct
}  // namespace

void CompactEncoder::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<char>(v));
}

void CompactEncoder::FieldHeader(int16_t id, TType type) {
  int delta = id - last_id_;
  if (delta > 0 && delta <= 15) {
    out_->push_back(static_cast<char>((delta << 4) | static_cast<int>(type)));
  } else {
    out_->push_back(static_cast<char>(type));
    Varint(Zigzag(id));
  }
  last_id_ = id;
}

void CompactEncoder::FieldI32(int16_t id, int32_t v) {
  FieldHeader(id, TType::kI32);
  Varint(Zigzag(v));
}

void CompactEncoder::FieldI64(int16_t id, int64_t v) {
  FieldHeader(id, TType::kI64);
  Varint(Zigzag(v));
}

void CompactEncoder::FieldBool(int16_t id, bool v) { FieldHeader(id, v ? TType::kBoolTrue : TType::kBoolFalse); }

void CompactEncoder::FieldBinary(int16_t id, std::string_view v) {
  FieldHeader(id, TType::kBinary);
  ElemBinary(v);
}

void CompactEncoder::ElemBinary(std::string_view v) {
  Varint(v.size());
  out_->append(v);
}

void CompactEncoder::BeginStructField(int16_t id) {
  FieldHeader(id, TType::kStruct);
  BeginStructElem();
}

void CompactEncoder::BeginStructElem() {
  stack_.push_back(last_id_);
  last_id_ = 0;
}

void CompactEncoder::EndStruct() {
  out_->push_back(0);
  last_id_ = stack_.empty() ? 0 : stack_.back();
  if (!stack_.empty()) stack_.pop_back();
}

void CompactEncoder::BeginListField(int16_t id, TType elem, uint32_t size) {
  FieldHeader(id, TType::kList);
  if (size < 15) {
    out_->push_back(static_cast<char>((size << 4) | static_cast<uint32_t>(elem)));
  } else {
    out_->push_back(static_cast<char>(0xf0 | static_cast<int>(elem)));
    Varint(size);
  }
}

void CompactDecoder::Fail(std::string_view what) {
  if (!error_.empty()) return;
  error_ = std::string(what) + " at byte " + std::to_string(position());
  p_ = end_;
}

uint64_t CompactDecoder::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ >= end_) {
      Fail("truncated varint");
      return 0;
    }
    uint8_t b = *p_++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  Fail("varint longer than 10 bytes");
  return 0;
}

bool CompactDecoder::NextField(int16_t* id, TType* type) {
  if (p_ >= end_) {
    Fail("truncated struct (no STOP byte)");
    return false;
  }
  uint8_t b = *p_++;
  if (b == 0) return false;
  *type = static_cast<TType>(b & 0x0f);
  if (b & 0x0f) {
    uint8_t t = b & 0x0f;
    if (t > static_cast<uint8_t>(TType::kStruct)) {
      Fail("unknown thrift type " + std::to_string(t));
      return false;
    }
  }
  int delta = b >> 4;
  if (delta != 0) {
    *id = static_cast<int16_t>(last_id_ + delta);
  } else {
    uint64_t z = Varint();
    *id = static_cast<int16_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  last_id_ = *id;
  return ok();
}

int32_t CompactDecoder::ReadI32() {
  uint64_t z = Varint();
  return static_cast<int32_t>(static_cast<uint32_t>((z >> 1) ^ (~(z & 1) + 1)));
}

int64_t CompactDecoder::ReadI64() {
  uint64_t z = Varint();
  return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

double CompactDecoder::ReadDouble() {
  if (end_ - p_ < 8) {
    Fail("truncated double");
    return 0;
  }
  double d;
  std::memcpy(&d, p_, 8);
  p_ += 8;
  return d;
}

std::string_view CompactDecoder::ReadBinary() {
  uint64_t n = Varint();
  if (!ok()) return {};
  if (n > static_cast<uint64_t>(end_ - p_)) {
    Fail("string length " + std::to_string(n) + " exceeds the " + std::to_string(end_ - p_) + " remaining bytes");
    return {};
  }
  std::string_view s(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return s;
}

bool CompactDecoder::ReadListHeader(TType* elem, uint32_t* size) {
  if (p_ >= end_) {
    Fail("truncated list header");
    return false;
  }
  uint8_t b = *p_++;
  *elem = static_cast<TType>(b & 0x0f);
  uint64_t n = b >> 4;
  if (n == 15) n = Varint();
  if (!ok()) return false;
  if (n > static_cast<uint64_t>(end_ - p_)) {
    Fail("list of " + std::to_string(n) + " elements exceeds the " + std::to_string(end_ - p_) + " remaining bytes");
    return false;
  }
  *size = static_cast<uint32_t>(n);
  return true;
}

void CompactDecoder::BeginStruct() {
  if (stack_.size() >= kMaxStructs) {
    Fail("structs nested too deeply");
    return;
  }
  stack_.push_back(last_id_);
  last_id_ = 0;
}

void CompactDecoder::EndStruct() {
  last_id_ = stack_.empty() ? 0 : stack_.back();
  if (!stack_.empty()) stack_.pop_back();
}

void CompactDecoder::Skip(TType type, int depth) {
  if (depth > kMaxDepth) {
    Fail("values nested too deeply");
    return;
  }
  switch (type) {
    case TType::kBoolTrue:
    case TType::kBoolFalse:
      return;  // a bool field carries its value in the header
    case TType::kByte:
      if (p_ >= end_) Fail("truncated byte");
      else ++p_;
      return;
    case TType::kI16:
    case TType::kI32:
    case TType::kI64:
      Varint();
      return;
    case TType::kDouble:
      ReadDouble();
      return;
    case TType::kBinary:
      ReadBinary();
      return;
    case TType::kList:
    case TType::kSet: {
      TType elem;
      uint32_t n;
      if (!ReadListHeader(&elem, &n)) return;
      for (uint32_t i = 0; i < n && ok(); ++i) {
        if (elem == TType::kBoolTrue || elem == TType::kBoolFalse) {
          Skip(TType::kByte, depth + 1);  // list elements of type bool take one byte each
        } else {
          Skip(elem, depth + 1);
        }
      }
      return;
    }
    case TType::kMap: {
      uint64_t n = Varint();
      if (!ok() || n == 0) return;
      if (n > static_cast<uint64_t>(end_ - p_)) {
        Fail("map size exceeds the remaining bytes");
        return;
      }
      if (p_ >= end_) {
        Fail("truncated map header");
        return;
      }
      uint8_t kv = *p_++;
      for (uint64_t i = 0; i < n && ok(); ++i) {
        Skip(static_cast<TType>(kv >> 4), depth + 1);
        Skip(static_cast<TType>(kv & 0x0f), depth + 1);
      }
      return;
    }
    case TType::kStruct: {
      BeginStruct();
      int16_t id;
      TType t;
      while (ok() && NextField(&id, &t)) Skip(t, depth + 1);
      EndStruct();
      return;
    }
    case TType::kStop:
    default:
      Fail("unexpected thrift type " + std::to_string(static_cast<int>(type)));
      return;
  }
}

}  // namespace cdc::parquet
