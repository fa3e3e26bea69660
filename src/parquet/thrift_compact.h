// A small Thrift compact-protocol encoder and a bounds-checked decoder, enough for Parquet metadata.
//
// Why hand-written instead of libthrift: the Parquet footer and page headers use a handful of structs,
// and the decoder must treat every length in a hostile file as untrusted. libthrift's generated code
// throws and allocates whatever a list or string header claims; this decoder checks each length
// against the bytes that remain and caps nesting depth, so a corrupt file becomes a Status.
// Wire format: see docs/PARQUET.md ("Thrift compact protocol").
//
// Thread-safety: none; one encoder/decoder per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cdc::parquet {

// Compact-protocol type ids (the low nibble of a field header).
enum class TType : uint8_t {
  kStop = 0,
  kBoolTrue = 1,
  kBoolFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

// Appends compact-protocol bytes to a string. Structs nest: BeginStruct/EndStruct save and restore
// the last field id, which field headers are delta-encoded against.
class CompactEncoder {
 public:
  explicit CompactEncoder(std::string* out) : out_(out) {}

  void FieldI32(int16_t id, int32_t v);
  void FieldI64(int16_t id, int64_t v);
  void FieldBool(int16_t id, bool v);
  void FieldBinary(int16_t id, std::string_view v);
  // Writes the field header of a struct field and enters it; close with EndStruct().
  void BeginStructField(int16_t id);
  // Writes the header of a list field; then write `size` elements with the Elem* calls.
  void BeginListField(int16_t id, TType elem, uint32_t size);
  void ElemI32(int32_t v) { Varint(Zigzag(v)); }
  void ElemBinary(std::string_view v);
  // Enters a struct element of a list.
  void BeginStructElem();
  // Writes the STOP byte and leaves the struct.
  void EndStruct();

 private:
  static uint64_t Zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
  void Varint(uint64_t v);
  void FieldHeader(int16_t id, TType type);

  std::string* out_;
  int16_t last_id_ = 0;
  std::vector<int16_t> stack_;  // last field ids of the enclosing structs
};

// Reads compact-protocol bytes from a bounded buffer. Every read checks the remaining length; the
// first failure sticks (ok() turns false and later reads return zeros), so callers may check once
// after a struct. Error messages say what was being read and at which byte offset.
class CompactDecoder {
 public:
  CompactDecoder(const uint8_t* data, size_t size) : p_(data), begin_(data), end_(data + size) {}

  // Reads the next field header of the current struct. Returns false at STOP (or on error).
  bool NextField(int16_t* id, TType* type);
  int32_t ReadI32();
  int64_t ReadI64();
  bool ReadBool(TType field_type) { return field_type == TType::kBoolTrue; }
  double ReadDouble();
  std::string_view ReadBinary();
  // Reads a list header; the size is checked against the remaining bytes (every element takes at
  // least one byte), so a caller may reserve `size` elements safely.
  bool ReadListHeader(TType* elem, uint32_t* size);
  void BeginStruct();
  void EndStruct();
  // Skips a value of the given type (unknown fields), with a nesting limit.
  void Skip(TType type) { Skip(type, 0); }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t position() const { return static_cast<size_t>(p_ - begin_); }
  void Fail(std::string_view what);

 private:
  uint64_t Varint();
  void Skip(TType type, int depth);

  const uint8_t* p_;
  const uint8_t* begin_;
  const uint8_t* end_;
  int16_t last_id_ = 0;
  std::vector<int16_t> stack_;
  std::string error_;
};

}  // namespace cdc::parquet
