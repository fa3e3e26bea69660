#include "analytics/view_engine.h"

namespace cdc::analytics {

Result<std::string> EncodeParquet(const sql::ViewPlan& view, const ViewRows& rows) {
  (void)view;
  (void)rows;
  return Status::Internal("EncodeParquet: not written yet");
}

}  // namespace cdc::analytics
