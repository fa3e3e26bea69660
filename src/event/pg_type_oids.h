// PostgreSQL built-in type OIDs (src/include/catalog/pg_type.dat), for the event module's type mapping.
#pragma once

#include <cstdint>

namespace cdc::event {

enum : uint32_t {
  kBoolOid = 16, kByteaOid = 17, kCharOid = 18, kNameOid = 19, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23,
  kTextOid = 25, kOidOid = 26, kJsonOid = 114, kXmlOid = 142, kCidrOid = 650, kFloat4Oid = 700,
  kFloat8Oid = 701, kMacaddr8Oid = 774, kMoneyOid = 790, kMacaddrOid = 829, kInetOid = 869, kBpcharOid = 1042,
  kVarcharOid = 1043, kDateOid = 1082, kTimeOid = 1083, kTimestampOid = 1114, kTimestamptzOid = 1184,
  kIntervalOid = 1186, kTimetzOid = 1266, kNumericOid = 1700, kUuidOid = 2950, kJsonbOid = 3802,
  kInt4RangeOid = 3904, kNumRangeOid = 3906, kTsRangeOid = 3908, kTsTzRangeOid = 3910, kDateRangeOid = 3912,
  kInt8RangeOid = 3926, kPointOid = 600, kBitOid = 1560, kVarbitOid = 1562,
};

}  // namespace cdc::event
