// The subset of the Parquet metadata structures (parquet.thrift) that cdcpipe writes and reads, with
// their compact-protocol encoding. Field ids follow the Apache Parquet format specification; unknown
// fields are skipped when decoding, so files from newer writers still parse.
// Layout of a file: "PAR1" <column chunks> <FileMetaData> <4-byte LE footer length> "PAR1".
// See docs/PARQUET.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cdc::parquet::format {

enum class Type : int32_t { kBoolean = 0, kInt32 = 1, kInt64 = 2, kInt96 = 3, kFloat = 4, kDouble = 5,
                            kByteArray = 6, kFixedLenByteArray = 7 };
enum class Repetition : int32_t { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum class ConvertedType : int32_t { kUtf8 = 0, kDecimal = 5, kDate = 6, kTimestampMillis = 9, kTimestampMicros = 10,
                                     kInt8 = 15, kInt16 = 16, kInt32 = 17, kInt64 = 18, kJson = 19 };
enum class Codec : int32_t { kUncompressed = 0, kSnappy = 1, kGzip = 2, kLzo = 3, kBrotli = 4, kLz4 = 5,
                             kZstd = 6, kLz4Raw = 7 };
enum class Encoding : int32_t { kPlain = 0, kPlainDictionary = 2, kRle = 3, kBitPacked = 4,
                                kDeltaBinaryPacked = 5, kDeltaLengthByteArray = 6, kDeltaByteArray = 7,
                                kRleDictionary = 8, kByteStreamSplit = 9 };
enum class PageType : int32_t { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };
enum class TimeUnit : int32_t { kNone = 0, kMillis = 1, kMicros = 2, kNanos = 3 };

// LogicalType is a union; only the members cdcpipe uses or maps are kept.
struct LogicalType {
  enum class Kind { kNone, kString, kDate, kTimestamp, kInteger, kJson, kDecimal, kOther } kind = Kind::kNone;
  int32_t scale = 0, precision = 0;    // DECIMAL (written only)
  bool utc = false;                    // TIMESTAMP.isAdjustedToUTC
  TimeUnit unit = TimeUnit::kNone;     // TIMESTAMP.unit
  int bit_width = 0;                   // INTEGER.bitWidth
  bool is_signed = true;               // INTEGER.isSigned
};

struct SchemaElement {
  std::optional<Type> type;
  std::optional<Repetition> repetition;
  std::optional<int32_t> type_length;  // FIXED_LEN_BYTE_ARRAY (written only)
  std::optional<int32_t> scale, precision;  // DECIMAL (written only)
  std::string name;
  int32_t num_children = 0;
  std::optional<ConvertedType> converted_type;  // raw value kept even if not in the enum above
  LogicalType logical;
};

struct Statistics {
  std::optional<std::string> min_value, max_value;  // plain-encoded (strings: raw bytes)
  std::optional<int64_t> null_count;
};

struct ColumnMetaData {
  Type type = Type::kInt32;
  std::vector<Encoding> encodings;
  std::vector<std::string> path_in_schema;
  Codec codec = Codec::kUncompressed;
  int64_t num_values = 0;
  int64_t total_uncompressed_size = 0;
  int64_t total_compressed_size = 0;
  int64_t data_page_offset = 0;
  std::optional<int64_t> dictionary_page_offset;
  Statistics statistics;
};

struct ColumnChunk {
  int64_t file_offset = 0;
  ColumnMetaData meta;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  int64_t total_byte_size = 0;
  int64_t num_rows = 0;
  int64_t file_offset = 0;
  int64_t total_compressed_size = 0;
};

struct KeyValue {
  std::string key, value;
};

struct FileMetaData {
  int32_t version = 1;
  std::vector<SchemaElement> schema;  // schema[0] is the root
  int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::vector<KeyValue> key_value_metadata;
  std::string created_by;
};

struct DataPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
  Encoding definition_level_encoding = Encoding::kRle;
  Encoding repetition_level_encoding = Encoding::kRle;
};

struct DataPageHeaderV2 {
  int32_t num_values = 0, num_nulls = 0, num_rows = 0;
  Encoding encoding = Encoding::kPlain;
  int32_t definition_levels_byte_length = 0, repetition_levels_byte_length = 0;
  bool is_compressed = true;
};

struct DictionaryPageHeader {
  int32_t num_values = 0;
  Encoding encoding = Encoding::kPlain;
};

struct PageHeader {
  PageType type = PageType::kDataPage;
  int32_t uncompressed_page_size = 0;
  int32_t compressed_page_size = 0;
  std::optional<DataPageHeader> data_page;
  std::optional<DictionaryPageHeader> dictionary_page;
  std::optional<DataPageHeaderV2> data_page_v2;
};

void Serialize(const FileMetaData& md, std::string* out);
void Serialize(const PageHeader& ph, std::string* out);

// Decoders: on failure a Corruption status whose message says which structure and byte offset.
// `consumed` receives the header length (page headers precede their payload).
Result<FileMetaData> ParseFileMetaData(std::string_view bytes);
Result<PageHeader> ParsePageHeader(std::string_view bytes, size_t* consumed);

}  // namespace cdc::parquet::format
