#include "record_json.h"

#include <charconv>

#include "json_out.h"

namespace slablog::cli {

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(end - buf));
}

void AppendRecordJson(std::string* s, const std::string& quoted_name, Encoding encoding, const RecordView& r) {
  s->append("{\"stream\":");
  s->append(quoted_name);
  s->append(",\"t\":");
  AppendInt(s, r.timestamp);
  s->append(",\"seq\":");
  AppendInt(s, static_cast<int64_t>(r.index));
  s->append(",\"data\":");
  const std::string_view text(reinterpret_cast<const char*>(r.payload.data()), r.payload.size());
  switch (encoding) {
    case Encoding::kJson:
      // Validated when it was written (slablog write); stored and returned byte for byte.
      s->append(text.empty() ? std::string_view("null") : text);
      break;
    case Encoding::kText:
      AppendJsonString(s, text);
      break;
    case Encoding::kBinary:
      AppendBase64(s, r.payload);
      break;
  }
  s->push_back('}');
}

const std::string& QuotedNames::Get(const Reader& reader, uint32_t id) {
  auto it = quoted_.find(id);
  if (it != quoted_.end()) return it->second;
  const CatalogEntry* e = reader.stream(id);
  std::string q;
  AppendJsonString(&q, e != nullptr ? e->name : "#" + std::to_string(id));
  return quoted_.emplace(id, std::move(q)).first->second;
}

}  // namespace slablog::cli
