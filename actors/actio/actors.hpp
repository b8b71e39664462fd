#pragma once
/// The CAF side of Actio: the process-wide actor system and the message
/// atoms that Channel, Server and Call actors understand.
///
/// Channel, Server and Call objects are CAF actors homed on an Actio event
/// loop: their messages are delivered into that loop and handled on its
/// thread. Another thread, or an ordinary CAF actor on CAF's scheduler,
/// reaches them with plain messages, e.g.
///   self->request(channel.actor(), 5s, actio::unary_atom::value,
///                 "/helloworld.Greeter/SayHello", request_bytes, 1.0)
///     .then([](const std::string& response_bytes) { ... },
///           [](caf::error& e) { /* e.code() == gRPC status code */ });

#include <caf/actor.hpp>
#include <caf/atom.hpp>

namespace caf {
class actor_system;
}

namespace actio {

/// (unary_atom, std::string method, std::string request, double timeout_s) → std::string
using unary_atom = caf::atom_constant<caf::atom("unary")>;
/// (state_atom) → int (ChannelConnectivity)
using state_atom = caf::atom_constant<caf::atom("state")>;
/// (stop_atom, double grace_s) → bool (true) once the server stopped
using stop_atom = caf::atom_constant<caf::atom("stop")>;
/// (cancel_atom) → bool
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
/// (status_atom) → (int code, std::string details), once the call is done
using status_atom = caf::atom_constant<caf::atom("status")>;
/// (port_atom) → std::vector<int> bound ports
using port_atom = caf::atom_constant<caf::atom("port")>;
/// (health_atom, std::string service, bool serving) → true (server with
/// ServerOptions::health_checking): Server::set_serving_status from any thread.
using health_atom = caf::atom_constant<caf::atom("health")>;

/// The error category of caf::error values carrying a gRPC status.
constexpr caf::atom_value grpc_error_category = caf::atom("grpc");

/// The process-wide CAF actor system (made on first use, 2 worker threads).
caf::actor_system& actor_system();

}  // namespace actio
