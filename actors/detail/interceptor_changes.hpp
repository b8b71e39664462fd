#pragma once
// What an interceptor changed, as its InterceptorRecord lists it: shared by
// client interceptors (ClientCallDetails) and server ones (HandlerCallDetails).

#include <string>
#include <vector>

#include "actio/metadata.hpp"

namespace actio::detail {

/// Adds `change` to `out` unless it is there already (an interceptor that
/// continues several times notes each change once).
void note_change(std::vector<std::string>& out, std::string change);

/// Notes "metadata +k" (added), "metadata ~k" (values changed) and
/// "metadata -k" (removed) between `before` and `after`.
void note_metadata_changes(const Metadata& before, const Metadata& after, std::vector<std::string>& out);

}  // namespace actio::detail
