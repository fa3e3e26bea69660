// libFuzzer target for the views file (src/sql/plan.h, LoadViews: libpg_query's parser, then our
// checks and planning): any file bytes must give views or an InvalidArgument, never a crash, a leak or
// another kind of status. Beyond memory safety it checks:
//   - an error is one line per problem, each "fuzz.sql:LINE:COLUMN: " with LINE and COLUMN >= 1;
//   - loaded views have distinct, non-empty names and at least one output column each;
//   - loading is deterministic (the same names, or the same message).
// The catalog is the tables of views/seed.sql and tests/views/oracle.sql, with the types the demo
// and the oracle test give them. Seeds: fuzz/corpus/views/, views/seed.sql, tests/views/oracle.sql
// (CDC_FUZZ_WRITE_CORPUS=DIR on views_fuzz_replay_test writes them into one directory); dictionary:
// fuzz/views.dict.
//   cmake -S . -B build-fuzz -DCDC_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target views_fuzz
//   build-fuzz/fuzz/views_fuzz -max_len=4096 -dict=fuzz/views.dict fuzz/corpus/views
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_checks.h"
#include "sql/plan.h"

namespace {

using cdc::sql::Catalog;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

cdc::event::Column Col(std::string name, uint32_t oid, int32_t typmod = -1, bool key = false) {
  cdc::event::Column c;
  c.name = std::move(name);
  c.type_oid = oid;
  c.type_modifier = typmod;
  c.key = key;
  return c;
}

void Add(Catalog* c, std::string table, std::vector<cdc::event::Column> columns) {
  cdc::event::TableSchema t;
  t.schema = "public";
  t.table = std::move(table);
  t.columns = std::move(columns);
  (*c)["public." + t.table] = std::move(t);
}

const Catalog& TheCatalog() {
  static const Catalog catalog = [] {
    constexpr int32_t kNumeric10_2 = ((10 << 16) | 2) + 4, kNumeric12_2 = ((12 << 16) | 2) + 4;
    Catalog c;
    Add(&c, "klienci",
        {Col("id", 23, -1, true), Col("imie", 25), Col("nazwisko", 25), Col("email", 25), Col("kraj", 25)});
    Add(&c, "pracownicy", {Col("id", 23, -1, true), Col("imie", 25), Col("stanowisko", 25), Col("wiek", 23)});
    Add(&c, "customers", {Col("id", 23, -1, true), Col("name", 25), Col("country", 25), Col("vip", 16),
                          Col("signup", 1082), Col("credit", 1700, kNumeric12_2)});
    Add(&c, "orders", {Col("id", 20, -1, true), Col("customer_id", 23), Col("amount", 1700, kNumeric10_2),
                       Col("qty", 23), Col("price", 701), Col("discount", 700), Col("priority", 21),
                       Col("status", 25), Col("created_at", 1184), Col("shipped", 1114)});
    return c;
  }();
  return catalog;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = cdc::sql::LoadViews("fuzz.sql", text, TheCatalog());
  auto again = cdc::sql::LoadViews("fuzz.sql", text, TheCatalog());
  Check(loaded.ok() == again.ok());
  if (!loaded.ok()) {
    const cdc::Status& st = loaded.status();
    Check(st.code() == cdc::StatusCode::kInvalidArgument);
    Check(st.message() == again.status().message());
    std::string_view msg = st.message();
    Check(!msg.empty());
    for (size_t start = 0; start < msg.size();) {
      size_t nl = msg.find('\n', start);
      std::string_view line = msg.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
      if (!cdc::fuzz::NamesFileLineColumn(line, "fuzz.sql")) {
        std::fprintf(stderr, "views_fuzz: an error line without fuzz.sql:LINE:COLUMN: %.*s\n", static_cast<int>(line.size()),
                     line.data());
        __builtin_trap();
      }
      start = nl == std::string_view::npos ? msg.size() : nl + 1;
    }
    return 0;
  }
  std::set<std::string> names;
  Check(loaded->views.size() == again->views.size());
  for (size_t i = 0; i < loaded->views.size(); ++i) {
    const cdc::sql::ViewPlan& v = loaded->views[i];
    Check(!v.name.empty() && v.name == again->views[i].name);
    Check(!v.outputs.empty());
    Check(names.insert(v.name).second);
  }
  return 0;
}
