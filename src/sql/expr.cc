#include "sql/expr.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "sql/datetime.h"
#include "sql/numeric.h"

namespace cdc::sql::expr {
namespace {

using datetime::FloorDiv;
using datetime::kMicrosPerDay;
using datetime::kMicrosPerSecond;

const Type kBoolType{TypeId::kBool};
const Type kInt4Type{TypeId::kInt4};
const Type kTextType{TypeId::kText};
const Type kNumericType{TypeId::kNumeric};
const Type kFloat8Type{TypeId::kFloat8};

Status Error(std::string message) { return Status::InvalidArgument(std::move(message)); }

const char* IntRangeMessage(TypeId t) {
  switch (t) {
    case TypeId::kInt2: return "smallint out of range";
    case TypeId::kInt4: return "integer out of range";
    default: return "bigint out of range";
  }
}

bool FitsInt(TypeId t, int64_t v) {
  switch (t) {
    case TypeId::kInt2: return v >= INT16_MIN && v <= INT16_MAX;
    case TypeId::kInt4: return v >= INT32_MIN && v <= INT32_MAX;
    default: return true;
  }
}

bool IsInt(TypeId t) { return t == TypeId::kInt2 || t == TypeId::kInt4 || t == TypeId::kInt8; }
bool IsFloat(TypeId t) { return t == TypeId::kFloat4 || t == TypeId::kFloat8; }
bool IsTime(TypeId t) { return t == TypeId::kTimestamp || t == TypeId::kTimestampTz; }

// Number of UTF-8 characters (bytes that do not continue a sequence).
int64_t CharLength(std::string_view s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Byte offset of the `chars`-th character (0-based), or s.size().
size_t CharOffset(std::string_view s, int64_t chars) {
  size_t i = 0;
  while (i < s.size() && chars > 0) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    --chars;
  }
  return i;
}

// Unicode simple case mapping for the scripts a table of names is likely to hold: ASCII, Latin-1,
// Latin Extended-A (Polish, Czech, Turkish ...), Greek and Cyrillic; other characters are unchanged.
// This is what glibc's towupper/towlower give for them in a UTF-8 locale, as PostgreSQL's upper()
// and lower() use (a database with the "C" locale would fold ASCII only: docs/VIEWS.md).
char32_t MapCase(char32_t c, bool upper) {
  auto pair = [&](char32_t u, char32_t l) -> char32_t { return upper ? (c == l ? u : c) : (c == u ? l : c); };
  if (c < 0x80) {
    if (upper && c >= 'a' && c <= 'z') return c - 32;
    if (!upper && c >= 'A' && c <= 'Z') return c + 32;
    return c;
  }
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7 && !upper) return c + 32;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7 && upper) return c - 32;
  if (c == 0xFF || c == 0x178) return pair(0x178, 0xFF);
  if (c == 0xB5 && upper) return 0x39C;
  if (c == 0x130) return upper ? c : U'i';
  if (c == 0x131) return upper ? U'I' : c;
  if (c == 0x17F) return upper ? U'S' : c;
  bool even_upper = (c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177) ||
                    (c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF);
  bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
  if (even_upper) return upper ? (c & ~char32_t{1}) : (c | 1);
  if (odd_upper) return upper ? ((c & 1) ? c : c - 1) : ((c & 1) ? c + 1 : c);
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2 && !upper) return c + 32;
  if (c >= 0x3B1 && c <= 0x3C9 && upper) return c == 0x3C2 ? 0x3A3 : c - 32;
  if (c == 0x386 || c == 0x3AC) return pair(0x386, 0x3AC);
  if (c >= 0x388 && c <= 0x38A && !upper) return c + 37;
  if (c >= 0x3AD && c <= 0x3AF && upper) return c - 37;
  if (c == 0x38C || c == 0x3CC) return pair(0x38C, 0x3CC);
  if (c >= 0x38E && c <= 0x38F && !upper) return c + 63;
  if (c >= 0x3CD && c <= 0x3CE && upper) return c - 63;
  if (c >= 0x410 && c <= 0x42F && !upper) return c + 32;
  if (c >= 0x430 && c <= 0x44F && upper) return c - 32;
  if (c >= 0x400 && c <= 0x40F && !upper) return c + 80;
  if (c >= 0x450 && c <= 0x45F && upper) return c - 80;
  return c;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Case-maps `s` in place. Characters outside the two-byte range, and bytes that are not valid UTF-8,
// are copied as they are.
void MapCaseInPlace(std::string* s, bool upper) {
  bool ascii = true;
  for (char ch : *s) ascii = ascii && (static_cast<unsigned char>(ch) < 0x80);
  if (ascii) {
    for (char& ch : *s) ch = static_cast<char>(MapCase(static_cast<unsigned char>(ch), upper));
    return;
  }
  std::string out;
  out.reserve(s->size());
  for (size_t i = 0; i < s->size();) {
    unsigned char b0 = static_cast<unsigned char>((*s)[i]);
    if (b0 < 0x80) {
      out.push_back(static_cast<char>(MapCase(b0, upper)));
      ++i;
    } else if ((b0 & 0xE0) == 0xC0 && i + 1 < s->size() && (static_cast<unsigned char>((*s)[i + 1]) & 0xC0) == 0x80) {
      char32_t c = (char32_t{b0} & 0x1F) << 6 | (static_cast<unsigned char>((*s)[i + 1]) & 0x3F);
      AppendUtf8(MapCase(c, upper), &out);
      i += 2;
    } else {
      out.push_back((*s)[i]);
      ++i;
    }
  }
  *s = std::move(out);
}

// ---- leaves ----------------------------------------------------------------------------------

class ColumnExpr final : public Expr {
 public:
  ColumnExpr(int index, Type type) : Expr(type), index_(index) {}
  Status Eval(const Datum* row, Datum* out) const override {
    *out = row[index_];
    return Status::OK();
  }

 private:
  int index_;
};

class ConstantExpr final : public Expr {
 public:
  ConstantExpr(Datum value, Type type) : Expr(type), value_(std::move(value)) {}
  Status Eval(const Datum*, Datum* out) const override {
    *out = value_;
    return Status::OK();
  }

 private:
  Datum value_;
};

// ---- arithmetic ------------------------------------------------------------------------------

class IntArithExpr final : public Expr {
 public:
  IntArithExpr(ArithOp op, ExprPtr a, ExprPtr b, Type type) : Expr(type), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x, y;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    CDC_RETURN_IF_ERROR(b_->Eval(row, &y));
    if (x.is_null() || y.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    int64_t r = 0;
    bool overflow = false;
    switch (op_) {
      case ArithOp::kAdd: overflow = __builtin_add_overflow(x.i, y.i, &r); break;
      case ArithOp::kSub: overflow = __builtin_sub_overflow(x.i, y.i, &r); break;
      case ArithOp::kMul: overflow = __builtin_mul_overflow(x.i, y.i, &r); break;
      case ArithOp::kDiv:
        if (y.i == 0) return Error("division by zero");
        if (y.i == -1) {
          overflow = __builtin_sub_overflow(int64_t{0}, x.i, &r);
        } else {
          r = x.i / y.i;  // truncates toward zero, as PostgreSQL's int4div
        }
        break;
      case ArithOp::kMod:
        if (y.i == 0) return Error("division by zero");
        r = y.i == -1 ? 0 : x.i % y.i;
        break;
    }
    if (overflow || !FitsInt(type().id, r)) return Error(IntRangeMessage(type().id));
    *out = Datum::Int(r);
    return Status::OK();
  }

 private:
  ArithOp op_;
  ExprPtr a_, b_;
};

class NumericArithExpr final : public Expr {
 public:
  NumericArithExpr(ArithOp op, ExprPtr a, ExprPtr b, Type type)
      : Expr(type), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x, y;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    CDC_RETURN_IF_ERROR(b_->Eval(row, &y));
    if (x.is_null() || y.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    __int128 r = 0;
    int16_t s = 0;
    switch (op_) {
      case ArithOp::kAdd: CDC_RETURN_IF_ERROR(numeric::Add(x.n, x.scale, y.n, y.scale, &r, &s)); break;
      case ArithOp::kSub: CDC_RETURN_IF_ERROR(numeric::Sub(x.n, x.scale, y.n, y.scale, &r, &s)); break;
      case ArithOp::kMul: CDC_RETURN_IF_ERROR(numeric::Mul(x.n, x.scale, y.n, y.scale, &r, &s)); break;
      case ArithOp::kDiv: CDC_RETURN_IF_ERROR(numeric::Div(x.n, x.scale, y.n, y.scale, &r, &s)); break;
      case ArithOp::kMod: CDC_RETURN_IF_ERROR(numeric::Mod(x.n, x.scale, y.n, y.scale, &r, &s)); break;
    }
    *out = Datum::Numeric(r, s);
    return Status::OK();
  }

 private:
  ArithOp op_;
  ExprPtr a_, b_;
};

Status CheckFloat(double r, bool inf_input, bool zero_ok, bool float4, double* out) {
  if (float4) {
    float f = static_cast<float>(r);
    if (std::isinf(f) && !inf_input) return Error("value out of range: overflow");
    if (f == 0 && !zero_ok) return Error("value out of range: underflow");
    *out = f;
    return Status::OK();
  }
  if (std::isinf(r) && !inf_input) return Error("value out of range: overflow");
  if (r == 0 && !zero_ok) return Error("value out of range: underflow");
  *out = r;
  return Status::OK();
}

class FloatArithExpr final : public Expr {
 public:
  FloatArithExpr(ArithOp op, ExprPtr a, ExprPtr b, Type type) : Expr(type), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x, y;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    CDC_RETURN_IF_ERROR(b_->Eval(row, &y));
    if (x.is_null() || y.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    bool inf_input = std::isinf(x.f) || std::isinf(y.f);
    bool float4 = type().id == TypeId::kFloat4;
    double r = 0;
    bool zero_ok = true;
    switch (op_) {
      case ArithOp::kAdd: r = x.f + y.f; break;
      case ArithOp::kSub: r = x.f - y.f; break;
      case ArithOp::kMul:
        r = x.f * y.f;
        zero_ok = x.f == 0 || y.f == 0;
        break;
      case ArithOp::kDiv:
        if (y.f == 0 && !std::isnan(x.f)) return Error("division by zero");
        r = x.f / y.f;
        inf_input = std::isinf(x.f);
        zero_ok = x.f == 0 || std::isinf(y.f);
        break;
      case ArithOp::kMod:
        return Error("operator does not exist: double precision % double precision");
    }
    double v = 0;
    CDC_RETURN_IF_ERROR(CheckFloat(r, inf_input, zero_ok, float4, &v));
    *out = Datum::Float(v);
    return Status::OK();
  }

 private:
  ArithOp op_;
  ExprPtr a_, b_;
};

class DateArithExpr final : public Expr {
 public:
  DateArithExpr(ArithOp op, ExprPtr a, ExprPtr b, Type type) : Expr(type), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x, y;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    CDC_RETURN_IF_ERROR(b_->Eval(row, &y));
    if (x.is_null() || y.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    if (type().id == TypeId::kInt4) {  // date - date
      int64_t r = x.i - y.i;
      if (!FitsInt(TypeId::kInt4, r)) return Error("integer out of range");
      *out = Datum::Int(r);
      return Status::OK();
    }
    int64_t r = op_ == ArithOp::kAdd ? x.i + y.i : x.i - y.i;
    if (r <= INT32_MIN || r >= INT32_MAX) return Error("date out of range");
    *out = Datum::Int(r);
    return Status::OK();
  }

 private:
  ArithOp op_;
  ExprPtr a_, b_;
};

class NegateExpr final : public Expr {
 public:
  explicit NegateExpr(ExprPtr a) : Expr(a->type()), a_(std::move(a)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    CDC_RETURN_IF_ERROR(a_->Eval(row, out));
    switch (out->kind) {
      case Datum::Kind::kInt:
        if (out->i == INT64_MIN || !FitsInt(type().id, -out->i)) return Error(IntRangeMessage(type().id));
        out->i = -out->i;
        break;
      case Datum::Kind::kNumeric: out->n = -out->n; break;
      case Datum::Kind::kFloat: out->f = -out->f; break;
      default: break;
    }
    return Status::OK();
  }

 private:
  ExprPtr a_;
};

// ---- logic -------------------------------------------------------------------------------------

class CompareExpr final : public Expr {
 public:
  CompareExpr(CompareOp op, ExprPtr a, ExprPtr b) : Expr(kBoolType), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x, y;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    CDC_RETURN_IF_ERROR(b_->Eval(row, &y));
    if (x.is_null() || y.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    int c = sql::Compare(x, y);
    bool r = false;
    switch (op_) {
      case CompareOp::kEq: r = c == 0; break;
      case CompareOp::kNe: r = c != 0; break;
      case CompareOp::kLt: r = c < 0; break;
      case CompareOp::kLe: r = c <= 0; break;
      case CompareOp::kGt: r = c > 0; break;
      case CompareOp::kGe: r = c >= 0; break;
    }
    *out = Datum::Bool(r);
    return Status::OK();
  }

 private:
  CompareOp op_;
  ExprPtr a_, b_;
};

// AND (stop_on = false) or OR (stop_on = true) with three-valued logic.
class BoolExpr final : public Expr {
 public:
  BoolExpr(bool stop_on, std::vector<ExprPtr> args) : Expr(kBoolType), stop_on_(stop_on), args_(std::move(args)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    bool saw_null = false;
    for (const ExprPtr& arg : args_) {
      CDC_RETURN_IF_ERROR(arg->Eval(row, out));
      if (out->is_null()) {
        saw_null = true;
      } else if (out->b == stop_on_) {
        *out = Datum::Bool(stop_on_);
        return Status::OK();
      }
    }
    *out = saw_null ? Datum::Null() : Datum::Bool(!stop_on_);
    return Status::OK();
  }

 private:
  bool stop_on_;
  std::vector<ExprPtr> args_;
};

class NotExpr final : public Expr {
 public:
  explicit NotExpr(ExprPtr a) : Expr(kBoolType), a_(std::move(a)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    CDC_RETURN_IF_ERROR(a_->Eval(row, out));
    if (!out->is_null()) out->b = !out->b;
    return Status::OK();
  }

 private:
  ExprPtr a_;
};

class IsNullExpr final : public Expr {
 public:
  IsNullExpr(ExprPtr a, bool negated) : Expr(kBoolType), a_(std::move(a)), negated_(negated) {}
  Status Eval(const Datum* row, Datum* out) const override {
    CDC_RETURN_IF_ERROR(a_->Eval(row, out));
    *out = Datum::Bool(out->is_null() != negated_);
    return Status::OK();
  }

 private:
  ExprPtr a_;
  bool negated_;
};

class InExpr final : public Expr {
 public:
  InExpr(ExprPtr x, std::vector<ExprPtr> list, bool negated)
      : Expr(kBoolType), x_(std::move(x)), list_(std::move(list)), negated_(negated) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x, item;
    CDC_RETURN_IF_ERROR(x_->Eval(row, &x));
    if (x.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    bool saw_null = false;
    for (const ExprPtr& e : list_) {
      CDC_RETURN_IF_ERROR(e->Eval(row, &item));
      if (item.is_null()) {
        saw_null = true;
      } else if (sql::Compare(x, item) == 0) {
        *out = Datum::Bool(!negated_);
        return Status::OK();
      }
    }
    *out = saw_null ? Datum::Null() : Datum::Bool(negated_);
    return Status::OK();
  }

 private:
  ExprPtr x_;
  std::vector<ExprPtr> list_;
  bool negated_;
};

char Fold(char c, bool ci) { return ci && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// PostgreSQL's MatchText (like_match.c): % any run of characters, _ one character, \ escapes the
// next pattern character. Returns 1 match, 0 no match, -1 "abort" (no match possible for any
// suffix), as the original does to bound backtracking.
int MatchText(std::string_view t, std::string_view p, bool ci) {
  size_t ti = 0, pi = 0;
  auto next_char = [](std::string_view s, size_t i) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    return i;
  };
  while (ti < t.size() && pi < p.size()) {
    char pc = p[pi];
    if (pc == '\\') {
      ++pi;
      if (pi >= p.size()) return -2;  // trailing escape: PostgreSQL errors
      if (Fold(p[pi], ci) != Fold(t[ti], ci)) return 0;
      ++pi;
      ++ti;
      continue;
    }
    if (pc == '%') {
      ++pi;
      // Collapse a run of % and _ (each _ consumes one character).
      while (pi < p.size() && (p[pi] == '%' || p[pi] == '_')) {
        if (p[pi] == '_') {
          if (ti >= t.size()) return -1;
          ti = next_char(t, ti);
        }
        ++pi;
      }
      if (pi >= p.size()) return 1;
      char first = p[pi] == '\\' ? (pi + 1 < p.size() ? p[pi + 1] : '\0') : p[pi];
      while (ti < t.size()) {
        if (Fold(t[ti], ci) == Fold(first, ci)) {
          int r = MatchText(t.substr(ti), p.substr(pi), ci);
          if (r != 0) return r;
        }
        ti = next_char(t, ti);
      }
      return -1;
    }
    if (pc == '_') {
      ti = next_char(t, ti);
      ++pi;
      continue;
    }
    if (Fold(pc, ci) != Fold(t[ti], ci)) return 0;
    ++pi;
    ++ti;
  }
  if (ti < t.size()) return 0;
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi >= p.size() ? 1 : -1;
}

class LikeExpr final : public Expr {
 public:
  LikeExpr(ExprPtr text, ExprPtr pattern, bool ci, bool negated)
      : Expr(kBoolType), text_(std::move(text)), pattern_(std::move(pattern)), ci_(ci), negated_(negated) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum t, p;
    CDC_RETURN_IF_ERROR(text_->Eval(row, &t));
    CDC_RETURN_IF_ERROR(pattern_->Eval(row, &p));
    if (t.is_null() || p.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    if (ci_) {  // ILIKE: PostgreSQL lower()s both sides of a multibyte string, then matches
      MapCaseInPlace(&t.s, false);
      MapCaseInPlace(&p.s, false);
    }
    int r = MatchText(t.s, p.s, false);
    if (r == -2) return Error("LIKE pattern must not end with escape character");
    *out = Datum::Bool((r == 1) != negated_);
    return Status::OK();
  }

 private:
  ExprPtr text_, pattern_;
  bool ci_, negated_;
};

class CaseExpr final : public Expr {
 public:
  CaseExpr(std::vector<std::pair<ExprPtr, ExprPtr>> whens, ExprPtr otherwise, Type type)
      : Expr(type), whens_(std::move(whens)), otherwise_(std::move(otherwise)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    for (const auto& [cond, result] : whens_) {
      CDC_RETURN_IF_ERROR(cond->Eval(row, out));
      if (!out->is_null() && out->b) return result->Eval(row, out);
    }
    return otherwise_->Eval(row, out);
  }

 private:
  std::vector<std::pair<ExprPtr, ExprPtr>> whens_;
  ExprPtr otherwise_;
};

class CoalesceExpr final : public Expr {
 public:
  CoalesceExpr(std::vector<ExprPtr> args, Type type) : Expr(type), args_(std::move(args)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    for (const ExprPtr& arg : args_) {
      CDC_RETURN_IF_ERROR(arg->Eval(row, out));
      if (!out->is_null()) return Status::OK();
    }
    return Status::OK();
  }

 private:
  std::vector<ExprPtr> args_;
};

class NullIfExpr final : public Expr {
 public:
  NullIfExpr(ExprPtr a, ExprPtr b) : Expr(a->type()), a_(std::move(a)), b_(std::move(b)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum y;
    CDC_RETURN_IF_ERROR(a_->Eval(row, out));
    CDC_RETURN_IF_ERROR(b_->Eval(row, &y));
    if (!out->is_null() && !y.is_null() && sql::Compare(*out, y) == 0) *out = Datum::Null();
    return Status::OK();
  }

 private:
  ExprPtr a_, b_;
};

class CastExpr final : public Expr {
 public:
  CastExpr(ExprPtr a, Type to, int varchar_length)
      : Expr(to), a_(std::move(a)), varchar_length_(varchar_length) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    return CastDatum(x, a_->type(), type(), varchar_length_, out);
  }

 private:
  ExprPtr a_;
  int varchar_length_;
};

class ConcatExpr final : public Expr {
 public:
  ConcatExpr(ExprPtr a, ExprPtr b) : Expr(kTextType), a_(std::move(a)), b_(std::move(b)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum y;
    CDC_RETURN_IF_ERROR(a_->Eval(row, out));
    CDC_RETURN_IF_ERROR(b_->Eval(row, &y));
    if (out->is_null() || y.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    out->s += y.s;
    return Status::OK();
  }

 private:
  ExprPtr a_, b_;
};

class CaseFoldExpr final : public Expr {
 public:
  CaseFoldExpr(ExprPtr a, bool upper) : Expr(kTextType), a_(std::move(a)), upper_(upper) {}
  Status Eval(const Datum* row, Datum* out) const override {
    CDC_RETURN_IF_ERROR(a_->Eval(row, out));
    if (!out->is_null()) MapCaseInPlace(&out->s, upper_);
    return Status::OK();
  }

 private:
  ExprPtr a_;
  bool upper_;
};

class LengthExpr final : public Expr {
 public:
  explicit LengthExpr(ExprPtr a) : Expr(kInt4Type), a_(std::move(a)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    *out = x.is_null() ? Datum::Null() : Datum::Int(CharLength(x.s));
    return Status::OK();
  }

 private:
  ExprPtr a_;
};

class SubstrExpr final : public Expr {
 public:
  SubstrExpr(ExprPtr a, ExprPtr start, ExprPtr count)
      : Expr(kTextType), a_(std::move(a)), start_(std::move(start)), count_(std::move(count)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum s, c;
    CDC_RETURN_IF_ERROR(a_->Eval(row, out));
    CDC_RETURN_IF_ERROR(start_->Eval(row, &s));
    if (count_) CDC_RETURN_IF_ERROR(count_->Eval(row, &c));
    if (out->is_null() || s.is_null() || (count_ && c.is_null())) {
      *out = Datum::Null();
      return Status::OK();
    }
    // PostgreSQL's text_substring: characters [start, start + count) of the 1-based string.
    int64_t first = s.i;
    int64_t end = std::numeric_limits<int64_t>::max();
    if (count_) {
      if (c.i < 0) return Error("negative substring length not allowed");
      end = first + c.i;
    }
    int64_t from = first < 1 ? 1 : first;
    if (end <= from) {
      out->s.clear();
      return Status::OK();
    }
    size_t b = CharOffset(out->s, from - 1);
    size_t e = end == std::numeric_limits<int64_t>::max() ? out->s.size() : b + CharOffset(std::string_view(out->s).substr(b), end - from);
    out->s = out->s.substr(b, e - b);
    return Status::OK();
  }

 private:
  ExprPtr a_, start_, count_;
};

// ---- date and time -----------------------------------------------------------------------------

struct Civil {
  int64_t year;
  int month, day;
  int64_t micros_of_day;
  int64_t days;
};

Civil Split(int64_t micros) {
  Civil c;
  c.days = FloorDiv(micros, kMicrosPerDay);
  c.micros_of_day = micros - c.days * kMicrosPerDay;
  datetime::CivilFromDays(c.days, &c.year, &c.month, &c.day);
  return c;
}

// Monday = 0.
int64_t WeekdayMonday0(int64_t days) { return datetime::FloorMod(days + 3, 7); }

void IsoWeek(int64_t days, int64_t* iso_year, int64_t* week) {
  int64_t thursday = days - WeekdayMonday0(days) + 3;
  int64_t y;
  int m, d;
  datetime::CivilFromDays(thursday, &y, &m, &d);
  int64_t jan1 = datetime::DaysFromCivil(y, 1, 1);
  *iso_year = y;
  *week = (thursday - jan1) / 7 + 1;
}

int64_t Truncate(TimeUnit unit, int64_t micros) {
  if (micros == datetime::kTimestampNegInfinity || micros == datetime::kTimestampPosInfinity) return micros;
  Civil c = Split(micros);
  auto at = [](int64_t y, int m, int d) { return datetime::DaysFromCivil(y, m, d) * kMicrosPerDay; };
  switch (unit) {
    case TimeUnit::kMicroseconds: return micros;
    case TimeUnit::kMilliseconds: return FloorDiv(micros, 1000) * 1000;
    case TimeUnit::kSecond: return FloorDiv(micros, kMicrosPerSecond) * kMicrosPerSecond;
    case TimeUnit::kMinute: return FloorDiv(micros, 60 * kMicrosPerSecond) * 60 * kMicrosPerSecond;
    case TimeUnit::kHour: return FloorDiv(micros, 3600 * kMicrosPerSecond) * 3600 * kMicrosPerSecond;
    case TimeUnit::kDay: return c.days * kMicrosPerDay;
    case TimeUnit::kWeek: return (c.days - WeekdayMonday0(c.days)) * kMicrosPerDay;
    case TimeUnit::kMonth: return at(c.year, c.month, 1);
    case TimeUnit::kQuarter: return at(c.year, (c.month - 1) / 3 * 3 + 1, 1);
    case TimeUnit::kYear: return at(c.year, 1, 1);
    case TimeUnit::kDecade: {
      // PostgreSQL (timestamp_trunc): year = (year / 10) * 10 for AD, else -((8 - (year - 1)) / 10) * 10.
      int64_t y = c.year > 0 ? (c.year / 10) * 10 : -((8 - (c.year - 1)) / 10) * 10;
      return at(y, 1, 1);
    }
    case TimeUnit::kCentury: {
      int64_t y = c.year > 0 ? ((c.year + 99) / 100) * 100 - 99 : -((99 - (c.year - 1)) / 100) * 100 + 1;
      return at(y, 1, 1);
    }
    case TimeUnit::kMillennium: {
      int64_t y = c.year > 0 ? ((c.year + 999) / 1000) * 1000 - 999 : -((999 - (c.year - 1)) / 1000) * 1000 + 1;
      return at(y, 1, 1);
    }
    default: return micros;
  }
}

class DateTruncExpr final : public Expr {
 public:
  DateTruncExpr(TimeUnit unit, ExprPtr a) : Expr(a->type()), unit_(unit), a_(std::move(a)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    CDC_RETURN_IF_ERROR(a_->Eval(row, out));
    if (!out->is_null()) out->i = Truncate(unit_, out->i);
    return Status::OK();
  }

 private:
  TimeUnit unit_;
  ExprPtr a_;
};

class ExtractExpr final : public Expr {
 public:
  ExtractExpr(TimeUnit field, ExprPtr a, bool as_double)
      : Expr(as_double ? kFloat8Type : kNumericType), field_(field), a_(std::move(a)) {}
  Status Eval(const Datum* row, Datum* out) const override {
    Datum x;
    CDC_RETURN_IF_ERROR(a_->Eval(row, &x));
    if (x.is_null()) {
      *out = Datum::Null();
      return Status::OK();
    }
    bool is_date = a_->type().id == TypeId::kDate;
    int64_t micros = is_date ? x.i * kMicrosPerDay : x.i;
    Civil c = Split(micros);
    __int128 v = 0;  // numeric value at `scale`
    int scale = 0;
    switch (field_) {
      case TimeUnit::kMicroseconds: v = c.micros_of_day % (60 * kMicrosPerSecond); break;
      case TimeUnit::kMilliseconds: v = c.micros_of_day % (60 * kMicrosPerSecond); scale = 3; break;
      case TimeUnit::kSecond: v = c.micros_of_day % (60 * kMicrosPerSecond); scale = 6; break;
      case TimeUnit::kMinute: v = c.micros_of_day / (60 * kMicrosPerSecond) % 60; break;
      case TimeUnit::kHour: v = c.micros_of_day / (3600 * kMicrosPerSecond); break;
      case TimeUnit::kDay: v = c.day; break;
      case TimeUnit::kMonth: v = c.month; break;
      case TimeUnit::kQuarter: v = (c.month - 1) / 3 + 1; break;
      case TimeUnit::kYear: v = c.year > 0 ? c.year : c.year - 1; break;  // 1 BC is year -1
      case TimeUnit::kDecade: v = c.year >= 0 ? c.year / 10 : -((8 - (c.year - 1)) / 10); break;
      case TimeUnit::kCentury: v = c.year > 0 ? (c.year + 99) / 100 : -((99 - (c.year - 1)) / 100); break;
      case TimeUnit::kMillennium: v = c.year > 0 ? (c.year + 999) / 1000 : -((999 - (c.year - 1)) / 1000); break;
      case TimeUnit::kWeek: {
        int64_t iy, w;
        IsoWeek(c.days, &iy, &w);
        v = w;
        break;
      }
      case TimeUnit::kIsoYear: {
        int64_t iy, w;
        IsoWeek(c.days, &iy, &w);
        v = iy > 0 ? iy : iy - 1;
        break;
      }
      case TimeUnit::kDow: v = datetime::FloorMod(c.days + 4, 7); break;  // 1970-01-01 was a Thursday (4)
      case TimeUnit::kIsoDow: v = WeekdayMonday0(c.days) + 1; break;
      case TimeUnit::kDoy: v = c.days - datetime::DaysFromCivil(c.year, 1, 1) + 1; break;
      case TimeUnit::kEpoch:
        if (is_date && type().id == TypeId::kNumeric) {
          v = x.i * 86400;
        } else {
          v = micros;
          scale = 6;
        }
        break;
    }
    if (type().id == TypeId::kFloat8) {
      *out = Datum::Float(numeric::ToDouble(v, scale));
    } else {
      *out = Datum::Numeric(v, static_cast<int16_t>(scale));
    }
    return Status::OK();
  }

 private:
  TimeUnit field_;
  ExprPtr a_;
};

// ---- casts ---------------------------------------------------------------------------------------

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

Status ParseInt(std::string_view text, TypeId t, int64_t* out) {
  std::string_view s = Trim(text);
  const char* name = t == TypeId::kInt2 ? "smallint" : (t == TypeId::kInt4 ? "integer" : "bigint");
  auto bad = [&] {
    return Error(std::string("invalid input syntax for type ") + name + ": \"" + std::string(text) + "\"");
  };
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return bad();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ptr != s.data() + s.size()) return bad();
  if (ec == std::errc::result_out_of_range || !FitsInt(t, v)) {
    return Error("value \"" + std::string(text) + "\" is out of range for type " + name);
  }
  if (ec != std::errc()) return bad();
  *out = v;
  return Status::OK();
}

Status ParseFloat(std::string_view text, bool float4, double* out) {
  std::string s(Trim(text));
  const char* name = float4 ? "real" : "double precision";
  auto bad = [&] { return Error(std::string("invalid input syntax for type ") + name + ": \"" + std::string(text) + "\""); };
  if (s.empty()) return bad();
  std::string lower;
  for (char c : s) lower.push_back(Fold(c, true));
  if (lower == "nan") { *out = std::nan(""); return Status::OK(); }
  if (lower == "infinity" || lower == "+infinity" || lower == "inf" || lower == "+inf") {
    *out = std::numeric_limits<double>::infinity();
    return Status::OK();
  }
  if (lower == "-infinity" || lower == "-inf") { *out = -std::numeric_limits<double>::infinity(); return Status::OK(); }
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || lower.find_first_of("xp") != std::string::npos) return bad();
  if (float4 ? std::isinf(static_cast<float>(v)) : (errno == ERANGE && std::isinf(v))) {
    return Error("\"" + std::string(text) + "\" is out of range for type " + name);
  }
  *out = float4 ? static_cast<float>(v) : v;
  return Status::OK();
}

Status ParseBool(std::string_view text, bool* out) {
  std::string s;
  for (char c : Trim(text)) s.push_back(Fold(c, true));
  auto prefix_of = [&](std::string_view word, size_t min) { return s.size() >= min && word.substr(0, s.size()) == s; };
  if (s == "t" || prefix_of("true", 1) || prefix_of("yes", 1) || s == "on" || s == "1") { *out = true; return Status::OK(); }
  if (s == "f" || prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || s == "0") {
    *out = false;
    return Status::OK();
  }
  return Error("invalid input syntax for type boolean: \"" + std::string(text) + "\"");
}

Status ToNumericTypmod(__int128 v, int scale, const Type& to, Datum* out) {
  if (to.precision > 0) {
    __int128 r = 0;
    Status st = numeric::ApplyTypmod(v, scale, to.precision, to.scale, &r);
    if (!st.ok()) {
      return Error("numeric field overflow (a field with precision " + std::to_string(to.precision) + ", scale " +
                   std::to_string(to.scale) + " must round to an absolute value less than 10^" +
                   std::to_string(to.precision - to.scale) + ")");
    }
    *out = Datum::Numeric(r, to.scale);
    return Status::OK();
  }
  *out = Datum::Numeric(v, static_cast<int16_t>(scale));
  return Status::OK();
}

}  // namespace

Status CastDatum(const Datum& in, const Type& from, const Type& to, int varchar_length, Datum* out) {
  if (in.is_null()) {
    *out = Datum::Null();
    return Status::OK();
  }
  const TypeId f = from.id, t = to.id;
  // To text: PostgreSQL's output function (bool casts to 'true'/'false').
  if (t == TypeId::kText) {
    std::string s;
    if (f == TypeId::kBool) {
      s = in.b ? "true" : "false";
    } else if (f == TypeId::kText || f == TypeId::kUnknown) {
      s = in.s;
    } else {
      s = ToText(in, from);
    }
    if (varchar_length > 0 && CharLength(s) > varchar_length) s.resize(CharOffset(s, varchar_length));
    *out = Datum::Text(std::move(s));
    return Status::OK();
  }
  if (f == TypeId::kText || f == TypeId::kUnknown) {
    const std::string& s = in.s;
    switch (t) {
      case TypeId::kBool: {
        bool b = false;
        CDC_RETURN_IF_ERROR(ParseBool(s, &b));
        *out = Datum::Bool(b);
        return Status::OK();
      }
      case TypeId::kInt2:
      case TypeId::kInt4:
      case TypeId::kInt8: {
        int64_t v = 0;
        CDC_RETURN_IF_ERROR(ParseInt(s, t, &v));
        *out = Datum::Int(v);
        return Status::OK();
      }
      case TypeId::kNumeric: {
        __int128 v = 0;
        int16_t sc = 0;
        CDC_RETURN_IF_ERROR(numeric::Parse(s, &v, &sc));
        return ToNumericTypmod(v, sc, to, out);
      }
      case TypeId::kFloat4:
      case TypeId::kFloat8: {
        double v = 0;
        CDC_RETURN_IF_ERROR(ParseFloat(s, t == TypeId::kFloat4, &v));
        *out = Datum::Float(v);
        return Status::OK();
      }
      case TypeId::kDate: {
        int64_t d = 0;
        CDC_RETURN_IF_ERROR(datetime::ParseDate(s, &d));
        *out = Datum::Int(d);
        return Status::OK();
      }
      case TypeId::kTimestamp:
      case TypeId::kTimestampTz: {
        int64_t us = 0;
        CDC_RETURN_IF_ERROR(datetime::ParseTimestamp(s, t == TypeId::kTimestampTz, &us));
        *out = Datum::Int(us);
        return Status::OK();
      }
      default: break;
    }
  }
  if (f == t && t != TypeId::kNumeric) {
    *out = in;
    return Status::OK();
  }
  if (IsInt(f)) {
    if (IsInt(t)) {
      if (!FitsInt(t, in.i)) return Error(IntRangeMessage(t));
      *out = in;
      return Status::OK();
    }
    if (t == TypeId::kNumeric) return ToNumericTypmod(in.i, 0, to, out);
    if (IsFloat(t)) {
      *out = Datum::Float(t == TypeId::kFloat4 ? static_cast<float>(in.i) : static_cast<double>(in.i));
      return Status::OK();
    }
    if (t == TypeId::kBool && f == TypeId::kInt4) {
      *out = Datum::Bool(in.i != 0);
      return Status::OK();
    }
  }
  if (f == TypeId::kNumeric) {
    if (t == TypeId::kNumeric) return ToNumericTypmod(in.n, in.scale, to, out);
    if (IsInt(t)) {
      int64_t v = 0;
      if (!numeric::ToInt64(in.n, in.scale, &v) || !FitsInt(t, v)) return Error(IntRangeMessage(t));
      *out = Datum::Int(v);
      return Status::OK();
    }
    if (IsFloat(t)) {
      double v = numeric::ToDouble(in.n, in.scale);
      *out = Datum::Float(t == TypeId::kFloat4 ? static_cast<float>(v) : v);
      return Status::OK();
    }
  }
  if (IsFloat(f)) {
    if (IsFloat(t)) {
      double v = in.f;
      if (t == TypeId::kFloat4) {
        float x = static_cast<float>(v);
        if (std::isinf(x) && !std::isinf(v)) return Error("value out of range: overflow");
        if (x == 0 && v != 0) return Error("value out of range: underflow");
        v = x;
      }
      *out = Datum::Float(v);
      return Status::OK();
    }
    if (IsInt(t)) {
      double r = std::nearbyint(in.f);  // half to even (the default rounding mode), as rint()
      if (std::isnan(r) || r < -9223372036854775808.0 || r >= 9223372036854775808.0 ||
          !FitsInt(t, static_cast<int64_t>(r))) {
        return Error(IntRangeMessage(t));
      }
      *out = Datum::Int(static_cast<int64_t>(r));
      return Status::OK();
    }
    if (t == TypeId::kNumeric) {
      __int128 v = 0;
      int16_t sc = 0;
      CDC_RETURN_IF_ERROR(numeric::FromDouble(in.f, f == TypeId::kFloat4 ? 6 : 15, &v, &sc));
      return ToNumericTypmod(v, sc, to, out);
    }
  }
  if (f == TypeId::kBool && t == TypeId::kInt4) {
    *out = Datum::Int(in.b ? 1 : 0);
    return Status::OK();
  }
  if (f == TypeId::kDate && IsTime(t)) {
    if (in.i == datetime::kDateNegInfinity) { *out = Datum::Int(datetime::kTimestampNegInfinity); return Status::OK(); }
    if (in.i == datetime::kDatePosInfinity) { *out = Datum::Int(datetime::kTimestampPosInfinity); return Status::OK(); }
    *out = Datum::Int(in.i * kMicrosPerDay);
    return Status::OK();
  }
  if (IsTime(f) && t == TypeId::kDate) {
    if (in.i == datetime::kTimestampNegInfinity) { *out = Datum::Int(datetime::kDateNegInfinity); return Status::OK(); }
    if (in.i == datetime::kTimestampPosInfinity) { *out = Datum::Int(datetime::kDatePosInfinity); return Status::OK(); }
    *out = Datum::Int(FloorDiv(in.i, kMicrosPerDay));
    return Status::OK();
  }
  if (IsTime(f) && IsTime(t)) {  // UTC: the same instant has the same microseconds
    *out = in;
    return Status::OK();
  }
  return Error("cannot cast type " + TypeName(from) + " to " + TypeName(to));
}

ExprPtr Column(int index, Type type) { return std::make_unique<ColumnExpr>(index, type); }
ExprPtr Constant(Datum value, Type type) { return std::make_unique<ConstantExpr>(std::move(value), type); }

ExprPtr Arithmetic(ArithOp op, ExprPtr a, ExprPtr b, Type type) {
  if (IsInt(type.id)) return std::make_unique<IntArithExpr>(op, std::move(a), std::move(b), type);
  if (IsFloat(type.id)) return std::make_unique<FloatArithExpr>(op, std::move(a), std::move(b), type);
  return std::make_unique<NumericArithExpr>(op, std::move(a), std::move(b), Type{TypeId::kNumeric});
}

ExprPtr DateArithmetic(ArithOp op, ExprPtr a, ExprPtr b) {
  Type result = b->type().id == TypeId::kDate ? kInt4Type : Type{TypeId::kDate};
  return std::make_unique<DateArithExpr>(op, std::move(a), std::move(b), result);
}

ExprPtr Negate(ExprPtr a) { return std::make_unique<NegateExpr>(std::move(a)); }
ExprPtr Compare(CompareOp op, ExprPtr a, ExprPtr b) { return std::make_unique<CompareExpr>(op, std::move(a), std::move(b)); }
ExprPtr And(std::vector<ExprPtr> args) { return std::make_unique<BoolExpr>(false, std::move(args)); }
ExprPtr Or(std::vector<ExprPtr> args) { return std::make_unique<BoolExpr>(true, std::move(args)); }
ExprPtr Not(ExprPtr a) { return std::make_unique<NotExpr>(std::move(a)); }
ExprPtr IsNull(ExprPtr a, bool negated) { return std::make_unique<IsNullExpr>(std::move(a), negated); }
ExprPtr In(ExprPtr x, std::vector<ExprPtr> list, bool negated) {
  return std::make_unique<InExpr>(std::move(x), std::move(list), negated);
}
ExprPtr Like(ExprPtr text, ExprPtr pattern, bool case_insensitive, bool negated) {
  return std::make_unique<LikeExpr>(std::move(text), std::move(pattern), case_insensitive, negated);
}
ExprPtr Case(std::vector<std::pair<ExprPtr, ExprPtr>> whens, ExprPtr otherwise, Type type) {
  return std::make_unique<CaseExpr>(std::move(whens), std::move(otherwise), type);
}
ExprPtr Coalesce(std::vector<ExprPtr> args, Type type) { return std::make_unique<CoalesceExpr>(std::move(args), type); }
ExprPtr NullIf(ExprPtr a, ExprPtr b) { return std::make_unique<NullIfExpr>(std::move(a), std::move(b)); }
ExprPtr Cast(ExprPtr a, Type to, int varchar_length) { return std::make_unique<CastExpr>(std::move(a), to, varchar_length); }
ExprPtr Concat(ExprPtr a, ExprPtr b) { return std::make_unique<ConcatExpr>(std::move(a), std::move(b)); }
ExprPtr Lower(ExprPtr a) { return std::make_unique<CaseFoldExpr>(std::move(a), false); }
ExprPtr Upper(ExprPtr a) { return std::make_unique<CaseFoldExpr>(std::move(a), true); }
ExprPtr Length(ExprPtr a) { return std::make_unique<LengthExpr>(std::move(a)); }
ExprPtr Substr(ExprPtr a, ExprPtr start, ExprPtr count) {
  return std::make_unique<SubstrExpr>(std::move(a), std::move(start), std::move(count));
}
ExprPtr DateTrunc(TimeUnit unit, ExprPtr a) { return std::make_unique<DateTruncExpr>(unit, std::move(a)); }
ExprPtr Extract(TimeUnit field, ExprPtr a, bool as_double) {
  return std::make_unique<ExtractExpr>(field, std::move(a), as_double);
}

}  // namespace cdc::sql::expr
