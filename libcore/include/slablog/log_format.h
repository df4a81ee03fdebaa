// The one place that tells on-disk formats apart. Every command asks it first and then opens the
// log with the reader of that format; a third format is added here and nowhere else.
#pragma once

#include <string_view>

namespace slablog {

enum class LogFormat : unsigned char {
  kSlablog,  // this project's own format (slablog/reader.h)
  kCopper,   // Copper's unified log, either layout (slablog/copper.h)
};

const char* LogFormatName(LogFormat format);

// The format of the log `path` names (a base name, a slab file, or a file of joined slabs), from
// the first bytes of its first slab: Copper's main header magic B4 A5 50 FF, or a Copper section
// magic FA 57 at the start of a slab file named as one (x_N.ext; slab 0 may be lost). Anything
// else, a missing or unreadable file included, is kSlablog, whose reader then says what is wrong.
LogFormat DetectLogFormat(std::string_view path);

}  // namespace slablog
