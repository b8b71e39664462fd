#pragma once
/// Actio: the grpc.aio API in C++20 on CAF actors. The one header to include.

#include "actio/call.hpp"
#include "actio/channel.hpp"
#include "actio/codec.hpp"
#include "actio/errors.hpp"
#include "actio/event.hpp"
#include "actio/event_loop.hpp"
#include "actio/gather.hpp"
#include "actio/generator.hpp"
#include "actio/interceptor.hpp"
#include "actio/metadata.hpp"
#include "actio/options.hpp"
#include "actio/security.hpp"
#include "actio/server.hpp"
#include "actio/servicer_context.hpp"
#include "actio/status.hpp"
#include "actio/task.hpp"
