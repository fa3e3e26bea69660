// Text from outside (table, column and view names, values, error messages that quote them) made safe to
// print on a terminal: nothing in it can move the cursor, clear the screen, set the window title, ring
// the bell or reorder the rest of the line.
//
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cdc {

// `text` with every C0 control (U+0000-U+001F), DEL, C1 control (U+0080-U+009F), bidirectional
// override/embedding/isolate (U+202A-U+202E, U+2066-U+2069) and every byte that is not part of valid
// UTF-8 written as an escape: \n \r \t, \x1b for ESC and other single bytes, \u202e for the code
// points. With `keep_newlines`, '\n' and '\t' stay as they are (multi-line log messages).
// Everything else, backslashes included, is unchanged: the usual name prints as itself.
std::string TerminalText(std::string_view text, bool keep_newlines = false);

// One line of TerminalText: each run of newlines, carriage returns and tabs becomes one space (trailing
// ones dropped), so a multi-line message (libpq's "...\n\tIs the server running") or a name with a
// newline cannot start a line of its own in an error or a log record.
std::string TerminalLine(std::string_view text);

// The length (1-4) of the valid UTF-8 sequence at text[i], with its code point in *cp; 0 when the bytes
// there are not one (a stray continuation byte, a truncated or overlong sequence, a surrogate, a code
// point beyond U+10FFFF). REQUIRES: i < text.size().
size_t DecodeUtf8(std::string_view text, size_t i, uint32_t* cp);

}  // namespace cdc
