// The few pieces of S3's XML responses that S3Store reads, parsed minimally but correctly:
// element text is entity-decoded (&amp; &lt; &gt; &quot; &apos; &#N; &#xH;), elements are found by
// exact tag name, attributes on the root element (xmlns) are ignored. S3 responses contain no
// CDATA, comments or attributes on the elements read here.
//
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html (response),
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/object_store.h"

namespace cdc::store::s3xml {

// Decodes XML character and entity references; Corruption on an unknown or malformed one.
Result<std::string> DecodeText(std::string_view raw);

// The decoded text of the first <tag>...</tag> in `xml`, or nullopt. An empty element (<tag/> or
// <tag></tag>) gives "".
Result<std::optional<std::string>> FirstText(std::string_view xml, std::string_view tag);
// The same without std::optional: *found says whether the element exists, *text its decoded text.
Status FindText(std::string_view xml, std::string_view tag, bool* found, std::string* text);

// Every <tag>...</tag> element's inner (raw) XML, in document order.
std::vector<std::string_view> Elements(std::string_view xml, std::string_view tag);

// One page of ListObjectsV2.
struct ListPage {
  std::vector<ObjectInfo> objects;  // keys as the server sent them (full keys, with any prefix)
  bool truncated = false;           // IsTruncated
  std::string next_token;           // NextContinuationToken (when truncated)
};
Result<ListPage> ParseListObjectsV2(std::string_view xml);

// "2026-11-25T10:00:00.123Z" -> microseconds since the epoch.
Result<int64_t> ParseIso8601Micros(std::string_view text);

// <Error><Code>..</Code><Message>..</Message></Error>: code and message, empty when absent.
struct ErrorBody {
  std::string code;
  std::string message;
};
ErrorBody ParseError(std::string_view xml);

}  // namespace cdc::store::s3xml
