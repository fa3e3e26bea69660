#include "parquet/format.h"

#include "parquet/thrift_compact.h"

namespace cdc::parquet::format {

namespace {

void WriteStatistics(CompactEncoder& e, const Statistics& s) {
  if (s.null_count) e.FieldI64(3, *s.null_count);
  if (s.max_value) e.FieldBinary(5, *s.max_value);
  if (s.min_value) e.FieldBinary(6, *s.min_value);
  e.EndStruct();
}

void WriteLogicalType(CompactEncoder& e, const LogicalType& lt) {
  switch (lt.kind) {
    case LogicalType::Kind::kString:
      e.BeginStructField(1);
      e.EndStruct();
      break;
    case LogicalType::Kind::kDate:
      e.BeginStructField(6);
      e.EndStruct();
      break;
    case LogicalType::Kind::kTimestamp:
      e.BeginStructField(8);
      e.FieldBool(1, lt.utc);
      e.BeginStructField(2);  // TimeUnit union
      e.BeginStructField(lt.unit == TimeUnit::kMillis ? 1 : lt.unit == TimeUnit::kNanos ? 3 : 2);
      e.EndStruct();
      e.EndStruct();
      e.EndStruct();
      break;
    case LogicalType::Kind::kJson:
      e.BeginStructField(12);
      e.EndStruct();
      break;
    case LogicalType::Kind::kDecimal:
      e.BeginStructField(5);
      e.FieldI32(1, lt.scale);
      e.FieldI32(2, lt.precision);
      e.EndStruct();
      break;
    default:
      break;
  }
  e.EndStruct();
}

}  // namespace

void Serialize(const FileMetaData& md, std::string* out) {
  CompactEncoder e(out);
  e.FieldI32(1, md.version);
  e.BeginListField(2, TType::kStruct, static_cast<uint32_t>(md.schema.size()));
  for (const SchemaElement& s : md.schema) {
    e.BeginStructElem();
    if (s.type) e.FieldI32(1, static_cast<int32_t>(*s.type));
    if (s.type_length) e.FieldI32(2, *s.type_length);
    if (s.repetition) e.FieldI32(3, static_cast<int32_t>(*s.repetition));
    e.FieldBinary(4, s.name);
    if (s.num_children > 0) e.FieldI32(5, s.num_children);
    if (s.converted_type) e.FieldI32(6, static_cast<int32_t>(*s.converted_type));
    if (s.scale) e.FieldI32(7, *s.scale);
    if (s.precision) e.FieldI32(8, *s.precision);
    if (s.logical.kind != LogicalType::Kind::kNone) {
      e.BeginStructField(10);
      WriteLogicalType(e, s.logical);
    }
    e.EndStruct();
  }
  e.FieldI64(3, md.num_rows);
  e.BeginListField(4, TType::kStruct, static_cast<uint32_t>(md.row_groups.size()));
  for (const RowGroup& rg : md.row_groups) {
    e.BeginStructElem();
    e.BeginListField(1, TType::kStruct, static_cast<uint32_t>(rg.columns.size()));
    for (const ColumnChunk& cc : rg.columns) {
      e.BeginStructElem();
      e.FieldI64(2, cc.file_offset);
      e.BeginStructField(3);
      const ColumnMetaData& m = cc.meta;
      e.FieldI32(1, static_cast<int32_t>(m.type));
      e.BeginListField(2, TType::kI32, static_cast<uint32_t>(m.encodings.size()));
      for (Encoding enc : m.encodings) e.ElemI32(static_cast<int32_t>(enc));
      e.BeginListField(3, TType::kBinary, static_cast<uint32_t>(m.path_in_schema.size()));
      for (const std::string& p : m.path_in_schema) e.ElemBinary(p);
      e.FieldI32(4, static_cast<int32_t>(m.codec));
      e.FieldI64(5, m.num_values);
      e.FieldI64(6, m.total_uncompressed_size);
      e.FieldI64(7, m.total_compressed_size);
      e.FieldI64(9, m.data_page_offset);
      if (m.dictionary_page_offset) e.FieldI64(11, *m.dictionary_page_offset);
      e.BeginStructField(12);
      WriteStatistics(e, m.statistics);
      e.EndStruct();  // ColumnMetaData
      e.EndStruct();  // ColumnChunk
    }
    e.FieldI64(2, rg.total_byte_size);
    e.FieldI64(3, rg.num_rows);
    e.FieldI64(5, rg.file_offset);
    e.FieldI64(6, rg.total_compressed_size);
    e.EndStruct();
  }
  if (!md.key_value_metadata.empty()) {
    e.BeginListField(5, TType::kStruct, static_cast<uint32_t>(md.key_value_metadata.size()));
    for (const KeyValue& kv : md.key_value_metadata) {
      e.BeginStructElem();
      e.FieldBinary(1, kv.key);
      e.FieldBinary(2, kv.value);
      e.EndStruct();
    }
  }
  e.FieldBinary(6, md.created_by);
  // column_orders: TYPE_ORDER for every leaf, so readers trust min/max (unsigned order for strings).
  uint32_t leaves = md.schema.empty() ? 0 : static_cast<uint32_t>(md.schema.size() - 1);
  e.BeginListField(7, TType::kStruct, leaves);
  for (uint32_t i = 0; i < leaves; ++i) {
    e.BeginStructElem();
    e.BeginStructField(1);
    e.EndStruct();
    e.EndStruct();
  }
  e.EndStruct();
}

void Serialize(const PageHeader& ph, std::string* out) {
  CompactEncoder e(out);
  e.FieldI32(1, static_cast<int32_t>(ph.type));
  e.FieldI32(2, ph.uncompressed_page_size);
  e.FieldI32(3, ph.compressed_page_size);
  if (ph.data_page) {
    e.BeginStructField(5);
    e.FieldI32(1, ph.data_page->num_values);
    e.FieldI32(2, static_cast<int32_t>(ph.data_page->encoding));
    e.FieldI32(3, static_cast<int32_t>(ph.data_page->definition_level_encoding));
    e.FieldI32(4, static_cast<int32_t>(ph.data_page->repetition_level_encoding));
    e.EndStruct();
  }
  if (ph.dictionary_page) {
    e.BeginStructField(7);
    e.FieldI32(1, ph.dictionary_page->num_values);
    e.FieldI32(2, static_cast<int32_t>(ph.dictionary_page->encoding));
    e.EndStruct();
  }
  e.EndStruct();
}

namespace {

// Each Read* function consumes one struct (after its field header) and skips unknown fields.

// Reads a list<struct> field into *out, one element per call of read(d, &element). A list whose
// elements are not structs fails the decoder with "<what> is not a list of structs".
template <typename T, typename ReadFn>
void ReadStructList(CompactDecoder& d, const char* what, std::vector<T>* out, ReadFn read) {
  TType et;
  uint32_t n;
  if (!d.ReadListHeader(&et, &n)) return;
  if (et != TType::kStruct && n > 0) {
    d.Fail(std::string(what) + " is not a list of structs");
    return;
  }
  out->resize(n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) read(d, &(*out)[i]);
}

void ReadStatistics(CompactDecoder& d, Statistics* s) {
  d.BeginStruct();
  int16_t id;
  TType t;
  std::optional<std::string> old_min, old_max;
  while (d.NextField(&id, &t)) {
    if (id == 1 && t == TType::kBinary) old_max = std::string(d.ReadBinary());
    else if (id == 2 && t == TType::kBinary) old_min = std::string(d.ReadBinary());
    else if (id == 3 && t == TType::kI64) s->null_count = d.ReadI64();
    else if (id == 5 && t == TType::kBinary) s->max_value = std::string(d.ReadBinary());
    else if (id == 6 && t == TType::kBinary) s->min_value = std::string(d.ReadBinary());
    else d.Skip(t);
  }
  d.EndStruct();
}

void ReadTimeUnit(CompactDecoder& d, TimeUnit* unit) {
  d.BeginStruct();
  int16_t id;
  TType t;
  while (d.NextField(&id, &t)) {
    if (t == TType::kStruct && id >= 1 && id <= 3) *unit = static_cast<TimeUnit>(id);
    d.Skip(t);
  }
  d.EndStruct();
}

void ReadLogicalType(CompactDecoder& d, LogicalType* lt) {
  d.BeginStruct();
  int16_t id;
  TType t;
  while (d.NextField(&id, &t)) {
    if (t != TType::kStruct) {
      d.Skip(t);
      continue;
    }
    switch (id) {
      case 1: lt->kind = LogicalType::Kind::kString; d.Skip(t); break;
      case 6: lt->kind = LogicalType::Kind::kDate; d.Skip(t); break;
      case 12: lt->kind = LogicalType::Kind::kJson; d.Skip(t); break;
      case 8: {
        lt->kind = LogicalType::Kind::kTimestamp;
        d.BeginStruct();
        int16_t fid;
        TType ft;
        while (d.NextField(&fid, &ft)) {
          if (fid == 1 && (ft == TType::kBoolTrue || ft == TType::kBoolFalse)) lt->utc = d.ReadBool(ft);
          else if (fid == 2 && ft == TType::kStruct) ReadTimeUnit(d, &lt->unit);
          else d.Skip(ft);
        }
        d.EndStruct();
        break;
      }
      case 10: {
        lt->kind = LogicalType::Kind::kInteger;
        d.BeginStruct();
        int16_t fid;
        TType ft;
        while (d.NextField(&fid, &ft)) {
          if (fid == 1 && ft == TType::kByte) {
            d.Skip(TType::kByte);  // bitWidth: an i8, one raw byte; not needed to map the type
          } else if (fid == 2 && (ft == TType::kBoolTrue || ft == TType::kBoolFalse)) {
            lt->is_signed = d.ReadBool(ft);
          } else {
            d.Skip(ft);
          }
        }
        d.EndStruct();
        break;
      }
      default: lt->kind = LogicalType::Kind::kOther; d.Skip(t); break;
    }
  }
  d.EndStruct();
}

void ReadSchemaElement(CompactDecoder& d, SchemaElement* s) {
  d.BeginStruct();
  int16_t id;
  TType t;
  while (d.NextField(&id, &t)) {
    if (id == 1 && t == TType::kI32) s->type = static_cast<Type>(d.ReadI32());
    else if (id == 3 && t == TType::kI32) s->repetition = static_cast<Repetition>(d.ReadI32());
    else if (id == 4 && t == TType::kBinary) s->name = std::string(d.ReadBinary());
    else if (id == 5 && t == TType::kI32) s->num_children = d.ReadI32();
    else if (id == 6 && t == TType::kI32) s->converted_type = static_cast<ConvertedType>(d.ReadI32());
    else if (id == 10 && t == TType::kStruct) ReadLogicalType(d, &s->logical);
    else d.Skip(t);
  }
  d.EndStruct();
}

void ReadColumnMetaData(CompactDecoder& d, ColumnMetaData* m) {
  d.BeginStruct();
  int16_t id;
  TType t;
  while (d.NextField(&id, &t)) {
    if (id == 1 && t == TType::kI32) {
      m->type = static_cast<Type>(d.ReadI32());
    } else if (id == 2 && t == TType::kList) {
      TType et;
      uint32_t n;
      if (!d.ReadListHeader(&et, &n)) break;
      for (uint32_t i = 0; i < n && d.ok(); ++i) {
        if (et == TType::kI32) m->encodings.push_back(static_cast<Encoding>(d.ReadI32()));
        else d.Skip(et);
      }
    } else if (id == 3 && t == TType::kList) {
      TType et;
      uint32_t n;
      if (!d.ReadListHeader(&et, &n)) break;
      for (uint32_t i = 0; i < n && d.ok(); ++i) {
        if (et == TType::kBinary) m->path_in_schema.emplace_back(d.ReadBinary());
        else d.Skip(et);
      }
    } else if (id == 4 && t == TType::kI32) {
      m->codec = static_cast<Codec>(d.ReadI32());
    } else if (id == 5 && t == TType::kI64) {
      m->num_values = d.ReadI64();
    } else if (id == 6 && t == TType::kI64) {
      m->total_uncompressed_size = d.ReadI64();
    } else if (id == 7 && t == TType::kI64) {
      m->total_compressed_size = d.ReadI64();
    } else if (id == 9 && t == TType::kI64) {
      m->data_page_offset = d.ReadI64();
    } else if (id == 11 && t == TType::kI64) {
      m->dictionary_page_offset = d.ReadI64();
    } else if (id == 12 && t == TType::kStruct) {
      ReadStatistics(d, &m->statistics);
    } else {
      d.Skip(t);
    }
  }
  d.EndStruct();
}

void ReadRowGroup(CompactDecoder& d, RowGroup* rg) {
  d.BeginStruct();
  int16_t id;
  TType t;
  while (d.NextField(&id, &t)) {
    if (id == 1 && t == TType::kList) {
      ReadStructList(d, "RowGroup.columns", &rg->columns, [](CompactDecoder& d, ColumnChunk* c) {
        d.BeginStruct();
        int16_t cid;
        TType ct;
        while (d.NextField(&cid, &ct)) {
          if (cid == 2 && ct == TType::kI64) c->file_offset = d.ReadI64();
          else if (cid == 3 && ct == TType::kStruct) ReadColumnMetaData(d, &c->meta);
          else d.Skip(ct);
        }
        d.EndStruct();
      });
    } else if (id == 2 && t == TType::kI64) {
      rg->total_byte_size = d.ReadI64();
    } else if (id == 3 && t == TType::kI64) {
      rg->num_rows = d.ReadI64();
    } else if (id == 5 && t == TType::kI64) {
      rg->file_offset = d.ReadI64();
    } else if (id == 6 && t == TType::kI64) {
      rg->total_compressed_size = d.ReadI64();
    } else {
      d.Skip(t);
    }
  }
  d.EndStruct();
}

}  // namespace

Result<FileMetaData> ParseFileMetaData(std::string_view bytes) {
  CompactDecoder d(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  FileMetaData md;
  int16_t id;
  TType t;
  bool have_schema = false, have_rows = false, have_groups = false;
  while (d.NextField(&id, &t)) {
    if (id == 1 && t == TType::kI32) {
      md.version = d.ReadI32();
    } else if (id == 2 && t == TType::kList) {
      ReadStructList(d, "FileMetaData.schema", &md.schema, ReadSchemaElement);
      have_schema = true;
    } else if (id == 3 && t == TType::kI64) {
      md.num_rows = d.ReadI64();
      have_rows = true;
    } else if (id == 4 && t == TType::kList) {
      ReadStructList(d, "FileMetaData.row_groups", &md.row_groups, ReadRowGroup);
      have_groups = true;
    } else if (id == 5 && t == TType::kList) {
      ReadStructList(d, "FileMetaData.key_value_metadata", &md.key_value_metadata, [](CompactDecoder& d, KeyValue* kv) {
        d.BeginStruct();
        int16_t kid;
        TType kt;
        while (d.NextField(&kid, &kt)) {
          if (kid == 1 && kt == TType::kBinary) kv->key = std::string(d.ReadBinary());
          else if (kid == 2 && kt == TType::kBinary) kv->value = std::string(d.ReadBinary());
          else d.Skip(kt);
        }
        d.EndStruct();
      });
    } else if (id == 6 && t == TType::kBinary) {
      md.created_by = std::string(d.ReadBinary());
    } else {
      d.Skip(t);
    }
  }
  if (!d.ok()) return Status::Corruption("footer (FileMetaData): " + d.error());
  if (!have_schema || !have_rows || !have_groups) {
    return Status::Corruption("footer (FileMetaData) lacks a required field (schema, num_rows or row_groups)");
  }
  return md;
}

Result<PageHeader> ParsePageHeader(std::string_view bytes, size_t* consumed) {
  CompactDecoder d(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  PageHeader ph;
  int16_t id;
  TType t;
  bool have_type = false, have_sizes = false;
  while (d.NextField(&id, &t)) {
    if (id == 1 && t == TType::kI32) {
      ph.type = static_cast<PageType>(d.ReadI32());
      have_type = true;
    } else if (id == 2 && t == TType::kI32) {
      ph.uncompressed_page_size = d.ReadI32();
    } else if (id == 3 && t == TType::kI32) {
      ph.compressed_page_size = d.ReadI32();
      have_sizes = true;
    } else if (id == 5 && t == TType::kStruct) {
      DataPageHeader h;
      d.BeginStruct();
      int16_t f;
      TType ft;
      while (d.NextField(&f, &ft)) {
        if (f == 1 && ft == TType::kI32) h.num_values = d.ReadI32();
        else if (f == 2 && ft == TType::kI32) h.encoding = static_cast<Encoding>(d.ReadI32());
        else if (f == 3 && ft == TType::kI32) h.definition_level_encoding = static_cast<Encoding>(d.ReadI32());
        else if (f == 4 && ft == TType::kI32) h.repetition_level_encoding = static_cast<Encoding>(d.ReadI32());
        else d.Skip(ft);
      }
      d.EndStruct();
      ph.data_page = h;
    } else if (id == 7 && t == TType::kStruct) {
      DictionaryPageHeader h;
      d.BeginStruct();
      int16_t f;
      TType ft;
      while (d.NextField(&f, &ft)) {
        if (f == 1 && ft == TType::kI32) h.num_values = d.ReadI32();
        else if (f == 2 && ft == TType::kI32) h.encoding = static_cast<Encoding>(d.ReadI32());
        else d.Skip(ft);
      }
      d.EndStruct();
      ph.dictionary_page = h;
    } else if (id == 8 && t == TType::kStruct) {
      DataPageHeaderV2 h;
      d.BeginStruct();
      int16_t f;
      TType ft;
      while (d.NextField(&f, &ft)) {
        if (f == 1 && ft == TType::kI32) h.num_values = d.ReadI32();
        else if (f == 2 && ft == TType::kI32) h.num_nulls = d.ReadI32();
        else if (f == 3 && ft == TType::kI32) h.num_rows = d.ReadI32();
        else if (f == 4 && ft == TType::kI32) h.encoding = static_cast<Encoding>(d.ReadI32());
        else if (f == 5 && ft == TType::kI32) h.definition_levels_byte_length = d.ReadI32();
        else if (f == 6 && ft == TType::kI32) h.repetition_levels_byte_length = d.ReadI32();
        else if (f == 7 && (ft == TType::kBoolTrue || ft == TType::kBoolFalse)) h.is_compressed = d.ReadBool(ft);
        else d.Skip(ft);
      }
      d.EndStruct();
      ph.data_page_v2 = h;
    } else {
      d.Skip(t);
    }
  }
  if (!d.ok()) return Status::Corruption("page header: " + d.error());
  if (!have_type || !have_sizes) return Status::Corruption("page header lacks its type or sizes");
  if (ph.compressed_page_size < 0 || ph.uncompressed_page_size < 0) {
    return Status::Corruption("page header has a negative page size");
  }
  *consumed = d.position();
  return ph;
}

}  // namespace cdc::parquet::format
