// The dashboard page served at "/": one self-contained HTML document (inline CSS and JS, no external
// resources) that polls /api/status every second and redraws the stage diagram and the two analytics
// charts (inline SVG) without reloading. A ?token= in the page URL is passed on to /api/status.
#pragma once

#include <string_view>

namespace cdc::http {

std::string_view DashboardHtml();

}  // namespace cdc::http
