// Accumulate/Finalize (plan.h): the aggregates' running state under insertions and retractions.
#include <memory>

#include "sql/numeric.h"
#include "sql/plan.h"

namespace cdc::sql {
namespace {

bool KeepsValues(const AggregateSpec& spec) {
  return spec.distinct || spec.kind == AggregateKind::kMin || spec.kind == AggregateKind::kMax;
}

// `float4_sum`: sum(real), whose state PostgreSQL keeps as a real (float4pl), rounding every step.
Status AddToSum(AggregateState* state, const Datum& arg, int sign, bool float4_sum) {
  switch (arg.kind) {
    case Datum::Kind::kInt:
      state->isum += sign > 0 ? static_cast<__int128>(arg.i) : -static_cast<__int128>(arg.i);
      break;
    case Datum::Kind::kFloat:
      state->fsum += sign > 0 ? arg.f : -arg.f;
      if (float4_sum) state->fsum = static_cast<float>(state->fsum);
      break;
    case Datum::Kind::kNumeric: {
      if (arg.scale > state->scale) {
        if (!numeric::Rescale(state->isum, state->scale, arg.scale, &state->isum)) {
          return Status::InvalidArgument(numeric::kNumericOverflowMessage);
        }
        state->scale = arg.scale;
      }
      __int128 v;
      if (!numeric::Rescale(arg.n, arg.scale, state->scale, &v)) {
        return Status::InvalidArgument(numeric::kNumericOverflowMessage);
      }
      __int128 s = state->isum + (sign > 0 ? v : -v);
      if (s > kMaxNumericUnscaled || s < -kMaxNumericUnscaled) {
        return Status::InvalidArgument(numeric::kNumericOverflowMessage);
      }
      state->isum = s;
      break;
    }
    default:
      return Status::Internal("sum/avg over a value that is not a number");
  }
  return Status::OK();
}

}  // namespace

ValueCounts::Order ValuesOrder(const AggregateSpec& spec) {
  if (spec.keeps_both_extremes) return ValueCounts::Order::kBoth;
  if (spec.kind == AggregateKind::kMin) return ValueCounts::Order::kMin;
  if (spec.kind == AggregateKind::kMax) return ValueCounts::Order::kMax;
  return ValueCounts::Order::kNone;
}

Status Accumulate(const AggregateSpec& spec, AggregateState* state, const Datum& arg, int sign) {
  if (spec.kind == AggregateKind::kCountStar) {
    state->count += sign;
    return Status::OK();
  }
  if (arg.is_null() || spec.values_from >= 0) return Status::OK();  // the sharer of a min/max pair keeps nothing
  if (KeepsValues(spec)) {
    if (!state->values) state->values = std::make_unique<ValueCounts>(ValuesOrder(spec));
    if (sign > 0) {
      // min/max only need the multiset; DISTINCT counts a value once, when it first appears.
      if (state->values->Add(arg) != 1 || !spec.distinct) return Status::OK();
    } else {
      int64_t left = state->values->Remove(arg);
      if (left < 0) return Status::Internal("aggregate state: retracting a value that was never added");
      if (left != 0 || !spec.distinct) return Status::OK();
    }
    if (spec.kind == AggregateKind::kMin || spec.kind == AggregateKind::kMax) return Status::OK();
  }
  switch (spec.kind) {
    case AggregateKind::kCountStar:
    case AggregateKind::kCount:
      state->count += sign;
      return Status::OK();
    case AggregateKind::kSum:
    case AggregateKind::kAvg:
      CDC_RETURN_IF_ERROR(AddToSum(state, arg, sign,
                                   spec.kind == AggregateKind::kSum && spec.result_type.id == TypeId::kFloat4));
      state->count += sign;
      return Status::OK();
    case AggregateKind::kBoolAnd:
    case AggregateKind::kBoolOr:
      state->count += sign;
      if (arg.b) state->isum += sign;
      return Status::OK();
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      return Status::OK();
  }
  return Status::OK();
}

Status Finalize(const AggregateSpec& spec, const AggregateState& state, Datum* out) {
  switch (spec.kind) {
    case AggregateKind::kCountStar:
    case AggregateKind::kCount:
      *out = Datum::Int(state.count);
      return Status::OK();
    case AggregateKind::kSum:
      if (state.count == 0) {
        *out = Datum::Null();
        return Status::OK();
      }
      switch (spec.result_type.id) {
        case TypeId::kInt8:
          if (state.isum > INT64_MAX || state.isum < INT64_MIN) {
            return Status::InvalidArgument("bigint out of range");
          }
          *out = Datum::Int(static_cast<int64_t>(state.isum));
          return Status::OK();
        case TypeId::kNumeric:
          *out = Datum::Numeric(state.isum, state.scale);
          return Status::OK();
        case TypeId::kFloat4:
          *out = Datum::Float(static_cast<float>(state.fsum));
          return Status::OK();
        case TypeId::kFloat8:
          *out = Datum::Float(state.fsum);
          return Status::OK();
        default:
          return Status::Internal("sum: unexpected result type " + TypeName(spec.result_type));
      }
    case AggregateKind::kAvg: {
      if (state.count == 0) {
        *out = Datum::Null();
        return Status::OK();
      }
      if (spec.result_type.id == TypeId::kFloat8) {
        *out = Datum::Float(state.fsum / static_cast<double>(state.count));
        return Status::OK();
      }
      // PostgreSQL's int8_avg/numeric_avg: sum / count as numeric division (select_div_scale).
      __int128 q;
      int16_t scale;
      CDC_RETURN_IF_ERROR(numeric::Div(state.isum, state.scale, state.count, 0, &q, &scale));
      *out = Datum::Numeric(q, scale);
      return Status::OK();
    }
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      if (!state.values || state.values->empty()) {
        *out = Datum::Null();
      } else {
        *out = spec.kind == AggregateKind::kMin ? state.values->min() : state.values->max();
      }
      return Status::OK();
    case AggregateKind::kBoolAnd:
    case AggregateKind::kBoolOr:
      if (state.count == 0) {
        *out = Datum::Null();
      } else {
        *out = Datum::Bool(spec.kind == AggregateKind::kBoolAnd ? state.isum == state.count : state.isum > 0);
      }
      return Status::OK();
  }
  return Status::Internal("unknown aggregate kind");
}

}  // namespace cdc::sql
