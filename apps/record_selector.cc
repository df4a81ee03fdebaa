#include "record_selector.h"

#include "output.h"

namespace slablog::cli {

RecordSelector::RecordSelector(Reader* reader, const RecordSelection& selection, ProgressLine* progress,
                               unsigned pass, unsigned passes)
    : reader_(reader),
      selection_(selection),
      progress_(progress),
      pass_(pass),
      passes_(passes),
      position_(reader->files()) {}

bool RecordSelector::Wanted(uint32_t stream_id) {
  auto w = wanted_.find(stream_id);
  if (w == wanted_.end()) {
    const CatalogEntry* e = reader_->stream(stream_id);
    const std::string name = e != nullptr ? e->name : "#" + std::to_string(stream_id);
    w = wanted_.emplace(stream_id, MatchesAnyGlob(selection_.streams, name)).first;
  }
  return w->second;
}

const RecordView* RecordSelector::Next() {
  while (reader_->Next(&item_)) {
    if (item_.kind == ItemKind::kSection) {
      const SectionInfo& s = *item_.section;
      if (progress_ != nullptr) {
        progress_->Update(pass_ * position_.total() + position_.At(s), passes_ * position_.total());
      }
      if (s.open.stream_id == kCatalogStream) continue;
      // A closed section knows its time range: outside the window, its records are never read.
      const bool out_of_range = s.close && s.close->frame_count > 0 &&
                                (s.close->last_t < selection_.since || s.close->first_t > selection_.until);
      if (out_of_range || !Wanted(s.open.stream_id)) reader_->SkipSection();
      continue;
    }
    if (item_.kind != ItemKind::kRecord) continue;
    const RecordView& r = item_.record;
    if (r.timestamp < selection_.since || r.timestamp > selection_.until) continue;
    return &r;
  }
  return nullptr;
}

}  // namespace slablog::cli
