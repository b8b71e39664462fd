// Precompiled header for the library's own sources (the heavy, stable ones).
#include <caf/all.hpp>
#include <grpcpp/grpcpp.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/server_builder.h>
