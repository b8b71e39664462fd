// Services: per process, its servers → services → methods as server
// reflection describes them (and the other services its calls use), each
// server's TLS ports marked; a picked method can be invoked with a JSON
// request (a list of them for client-streaming and bidi methods), over TLS
// when its port is secure. The panel only fills ViewState::invoke; the app
// does the rest.
#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

#include "format.hpp"
#include "views.hpp"

namespace actio::inspector::views {

namespace {
/// "key: value" per line (blank lines skipped; a line without ':' is a key
/// with an empty value, which the call then refuses or sends as given).
std::vector<std::pair<std::string, std::string>> metadata_lines(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  auto trim = [](std::string s) {
    auto b = s.find_first_not_of(" \t\r");
    auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    std::string line = trim(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (!line.empty()) {
      auto colon = line.find(':');
      if (colon == std::string::npos) {
        out.emplace_back(line, "");
      } else {
        out.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
      }
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}
}  // namespace

namespace {

/// A server's addresses, its TLS ones marked: "127.0.0.1:1, 127.0.0.1:2 (TLS)".
std::string server_addresses(const EndpointRecord& e) {
  std::string out;
  std::size_t start = 0;
  while (start <= e.target.size()) {
    auto end = e.target.find(',', start);
    std::string one = e.target.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!one.empty()) {
      bool tls = std::find(e.tls_addresses.begin(), e.tls_addresses.end(), one) != e.tls_addresses.end();
      out += (out.empty() ? "" : ", ") + one + (tls ? " (TLS)" : "");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string signature(const MethodInfo& m) {
  return m.name + "(" + (m.client_streaming ? "stream " : "") + m.input_type + ") returns (" +
         (m.server_streaming ? "stream " : "") + m.output_type + ")";
}

/// The methods of `service` as selectable rows (or why there are none).
void service_node(const Model& model, ViewState& state, TargetId target, const std::string& service,
                  const std::string& address) {
  const Schema& schema = model.schema(target);
  const ServiceInfo* info = schema.service(service);
  ImGuiTreeNodeFlags flags = ImGuiTreeNodeFlags_DefaultOpen | (info ? 0 : ImGuiTreeNodeFlags_Leaf);
  bool open = ImGui::TreeNodeEx(service.c_str(), flags);
  if (!info) {
    ImGui::SameLine();
    auto failure = schema.failures().find(service);
    if (failure != schema.failures().end())
      ImGui::TextDisabled("(not described: %s)", failure->second.c_str());
    else
      ImGui::TextDisabled("(asking reflection...)");
  }
  if (!open) return;
  if (info) {
    for (const auto& m : info->methods) {
      bool picked = state.services.target == target && state.services.method == m.path;
      ImGui::PushID(m.path.c_str());
      if (ImGui::Selectable(m.name.c_str(), picked, 0, ImVec2(ImGui::CalcTextSize(m.name.c_str()).x, 0)))
        pick_method(model, state, target, m.path, address);
      ImGui::SameLine();
      ImGui::TextDisabled("%s%s -> %s%s", m.client_streaming ? "stream " : "", m.input_type.c_str(),
                          m.server_streaming ? "stream " : "", m.output_type.c_str());
      ImGui::PopID();
    }
  }
  ImGui::TreePop();
}

/// The tree: processes → servers → services → methods, then the services
/// only its calls name.
void tree(const Model& model, ViewState& state) {
  const auto endpoints = model.endpoints();
  for (std::size_t i = 0; i < model.target_count(); ++i) {
    auto target = static_cast<TargetId>(i);
    const TargetInfo& t = model.target(target);
    const Schema& schema = model.schema(target);
    ImGui::PushID(static_cast<int>(i));
    std::string title = "process " + std::to_string(i) + ": " + (t.process.empty() ? t.address : t.process) +
                        (t.pid ? " (pid " + std::to_string(t.pid) + ")" : "");
    if (ImGui::TreeNodeEx(title.c_str(), ImGuiTreeNodeFlags_DefaultOpen)) {
      std::set<std::string> served;
      for (const EndpointRecord* e : endpoints) {
        if (e->target_id != target || e->kind != EndpointKind::server) continue;
        std::string server = "server #" + std::to_string(e->id) + "  " + server_addresses(*e);
        ImGui::PushID(static_cast<int>(e->id));
        if (ImGui::TreeNodeEx(server.c_str(), ImGuiTreeNodeFlags_DefaultOpen)) {
          std::string address = dial_address(e->target, t.address);
          for (const auto& svc : e->services) {
            served.insert(svc);
            service_node(model, state, target, svc, address);
          }
          ImGui::TreePop();
        }
        ImGui::PopID();
      }
      bool header = false;
      for (const auto& svc : schema.services()) {
        if (served.count(svc.name)) continue;
        if (!header) {
          ImGui::TextDisabled("called by this process (no server of its own):");
          header = true;
        }
        service_node(model, state, target, svc.name, "");
      }
      if (schema.empty() && schema.failures().empty() && t.connection == Connection::attached)
        ImGui::TextDisabled("no descriptors yet (server reflection on the inspection port)");
      for (const auto& e : schema.errors()) ImGui::TextColored(code_color(13), "%s", e.c_str());
      ImGui::TreePop();
    }
    ImGui::PopID();
  }
}

/// The latest invocation of `method` on `target`, if any.
const Invocation* last_invocation(const Model& model, TargetId target, const std::string& method) {
  const auto& all = model.invocations();
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->request.target == target && it->request.method == method) return &*it;
  return nullptr;
}

void outcome(const Invocation& inv) {
  const char* over = inv.request.security.tls ? " over TLS" : "";
  if (!inv.done) {
    ImGui::TextDisabled("calling %s%s ...%s", inv.request.address.c_str(), over,
                        inv.replies.empty() ? "" : (" " + std::to_string(inv.replies.size()) + " replies so far").c_str());
  } else if (inv.not_sent) {
    ImGui::TextColored(code_color(3), "not sent:");
    ImGui::SameLine();
    ImGui::TextWrapped("%s", inv.details.c_str());
    return;
  } else {
    ImGui::TextColored(code_color(inv.code), "%s", code_name(inv.code).c_str());
    if (!inv.details.empty()) {
      ImGui::SameLine();
      ImGui::TextWrapped("%s", inv.details.c_str());
    }
    if (inv.client_streaming) ImGui::TextDisabled("sent %zu of %zu requests%s", inv.sent, inv.requests, over);
    if (inv.server_streaming) ImGui::TextDisabled("%zu replies", inv.replies.size() + inv.replies_not_kept);
    if (inv.replies_not_kept > 0) ImGui::TextDisabled("(the first %zu shown; %zu more not kept)", inv.replies.size(), inv.replies_not_kept);
  }
  for (std::size_t i = 0; i < inv.replies.size(); ++i) {
    const Reply& r = inv.replies[i];
    if (inv.replies.size() > 1) ImGui::TextDisabled("reply %zu", i + 1);
    if (r.json) {
      text(*r.json);
    } else {
      ImGui::TextDisabled("hex: %s", r.note.c_str());
      text(hex_dump(r.bytes));
    }
  }
}

/// The picked method: what it is, the request editor, Invoke, the outcome.
void invoke_pane(const Model& model, ViewState& state) {
  auto& sv = state.services;
  if (sv.method.empty() || sv.target >= model.target_count()) {
    ImGui::TextDisabled("pick a method to see its types and invoke it");
    return;
  }
  const MethodInfo* m = model.schema(sv.target).method(sv.method);
  text(sv.method);
  if (!m) {
    ImGui::TextDisabled("(its descriptors are gone: the process changed)");
    return;
  }
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("rpc %s", signature(*m).c_str());
  ImGui::PopStyleColor();
  float label = ImGui::CalcTextSize("timeout (s)").x + ImGui::GetStyle().ItemInnerSpacing.x;
  // The server's ports (TLS ones marked) to pick from; the address stays editable.
  std::vector<DialAddress> ports = model.serving_addresses(sv.target, service_of(sv.method));
  float ports_width = ports.size() > 1 ? ImGui::GetFrameHeight() + ImGui::GetStyle().ItemInnerSpacing.x : 0;
  ImGui::SetNextItemWidth(std::max(80.0f, ImGui::GetContentRegionAvail().x - label - ports_width));
  ImGui::InputTextWithHint("##address", "host:port of the server", &sv.address);
  if (ports.size() > 1) {
    ImGui::SameLine(0, ImGui::GetStyle().ItemInnerSpacing.x);
    if (ImGui::BeginCombo("##ports", "", ImGuiComboFlags_NoPreview | ImGuiComboFlags_PopupAlignLeft)) {
      for (const auto& p : ports) {
        std::string item = p.address + (p.tls ? " (TLS)" : "");
        if (ImGui::Selectable(item.c_str(), p.address == sv.address)) {
          sv.address = p.address;
          sv.tls = p.tls;
        }
      }
      ImGui::EndCombo();
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("the server's ports");
  }
  ImGui::SameLine(0, ImGui::GetStyle().ItemInnerSpacing.x);
  ImGui::TextUnformatted("address");
  checkbox("TLS", &sv.tls);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("call over TLS (ticked when the process says the port is secure)");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(60);
  ImGui::InputDouble("timeout (s)", &sv.timeout, 0, 0, "%.1f");
  if (sv.timeout <= 0) sv.timeout = 10;
  bool reported_tls = false;
  for (const auto& p : ports)
    if (p.address == sv.address) reported_tls = p.tls;
  if (reported_tls != sv.tls && !ports.empty()) {
    ImGui::SameLine();
    ImGui::TextColored(code_color(3), reported_tls ? "this port uses TLS" : "the process says this port is plaintext");
  }
  float field = std::max(80.0f, ImGui::GetContentRegionAvail().x - label);
  if (sv.tls) {
    ImGui::SetNextItemWidth(field);
    ImGui::InputTextWithHint("CA file", "PEM root certificates (empty: the system's)", &sv.tls_ca);
    float half = std::max(40.0f, (field - ImGui::GetStyle().ItemSpacing.x) / 2);
    ImGui::SetNextItemWidth(half);
    ImGui::InputTextWithHint("##cert", "mutual TLS: certificate (PEM)", &sv.tls_cert);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(half);
    ImGui::InputTextWithHint("cert, key", "its private key (PEM)", &sv.tls_key);
  }
  ImGui::SetNextItemWidth(field);
  ImGui::InputTextWithHint("authority", sv.tls ? "the name in the server's certificate (empty: the host)"
                                               : ":authority (empty: the address)",
                           &sv.authority);
  ImGui::InputTextMultiline("metadata", &sv.metadata, ImVec2(-label, ImGui::GetTextLineHeight() * 2.6f));
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("sent with the call: one \"key: value\" per line");
  if (m->client_streaming) {
    // The request stream: each message in its own editor, sent in order, then
    // a half-close; the list scrolls in a bounded box so the outcome stays in view.
    ImGui::TextDisabled("requests: %s (JSON each), sent in order, then a half-close", m->input_type.c_str());
    const ImGuiStyle& style = ImGui::GetStyle();
    float h = ImGui::GetTextLineHeight() * 2.6f + style.FramePadding.y * 2;
    float item = ImGui::GetTextLineHeightWithSpacing() + h + style.ItemSpacing.y;
    float total = item * static_cast<float>(sv.requests.size()) + ImGui::GetFrameHeightWithSpacing();
    float box = std::min(total, std::max(3 * ImGui::GetFrameHeight(), ImGui::GetContentRegionAvail().y * 0.4f));
    ImGui::BeginChild("requests", ImVec2(0, box), false);
    std::optional<std::size_t> remove;
    for (std::size_t i = 0; i < sv.requests.size(); ++i) {
      ImGui::PushID(static_cast<int>(i));
      ImGui::TextDisabled("request %zu", i + 1);
      ImGui::SameLine();
      if (ImGui::SmallButton("remove")) remove = i;
      ImGui::InputTextMultiline("##request", &sv.requests[i], ImVec2(-1, h), ImGuiInputTextFlags_AllowTabInput);
      ImGui::PopID();
    }
    if (remove) sv.requests.erase(sv.requests.begin() + static_cast<std::ptrdiff_t>(*remove));
    if (ImGui::Button("Add request"))
      sv.requests.push_back(sv.requests.empty() ? model.schema(sv.target).json_template(m->input_type)
                                                : sv.requests.back());
    ImGui::EndChild();
  } else {
    ImGui::TextDisabled("request: %s (JSON)", m->input_type.c_str());
    // At most 30 % of the pane, and room left for the outcome's first lines.
    float avail = ImGui::GetContentRegionAvail().y;
    float h = std::max(ImGui::GetTextLineHeight() * 3 + ImGui::GetStyle().FramePadding.y * 2,
                       std::min(avail * 0.3f, avail - 5 * ImGui::GetFrameHeightWithSpacing()));
    ImGui::InputTextMultiline("##request", &sv.request, ImVec2(-1, h), ImGuiInputTextFlags_AllowTabInput);
  }
  bool pending = false;
  const Invocation* last = last_invocation(model, sv.target, sv.method);
  if (last && !last->done) pending = true;
  if (pending) ImGui::BeginDisabled();
  if (ImGui::Button("Invoke")) {
    state.invoke = InvokeRequest{sv.target, sv.address, sv.method, sv.request, sv.timeout, metadata_lines(sv.metadata)};
    if (m->client_streaming) state.invoke->requests = sv.requests;
    state.invoke->security = InvokeSecurity{sv.tls, sv.tls_ca, sv.tls_cert, sv.tls_key, sv.authority};
  }
  if (pending) ImGui::EndDisabled();
  if (!m->client_streaming) {
    ImGui::SameLine();
    if (ImGui::Button("Template")) sv.request = model.schema(sv.target).json_template(m->input_type);
  }
  ImGui::Separator();
  if (!last) {
    ImGui::TextDisabled("not invoked yet");
    return;
  }
  ImGui::BeginChild("outcome", ImVec2(0, 0), false);
  outcome(*last);
  ImGui::EndChild();
}

}  // namespace

void pick_method(const Model& model, ViewState& state, TargetId target, const std::string& path,
                 const std::string& address) {
  auto& sv = state.services;
  if (sv.target == target && sv.method == path) return;
  sv.target = target;
  sv.method = path;
  sv.address = address;
  sv.tls = false;
  if (target < model.target_count())
    for (const auto& p : model.serving_addresses(target, service_of(path)))
      if (p.address == address) sv.tls = p.tls;
  const MethodInfo* m = target < model.target_count() ? model.schema(target).method(path) : nullptr;
  sv.request = m ? model.schema(target).json_template(m->input_type) : "{}";
  sv.requests.assign(1, sv.request);
}

void draw_services(Model& model, ViewState& state) {
  float width = ImGui::GetContentRegionAvail().x;
  ImGui::BeginChild("service_tree", ImVec2(width * 0.48f, 0), false, ImGuiWindowFlags_HorizontalScrollbar);
  tree(model, state);
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("invoke_pane", ImVec2(0, 0), true);
  invoke_pane(model, state);
  ImGui::EndChild();
}

}  // namespace actio::inspector::views
