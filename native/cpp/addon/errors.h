// dmdlk::Error to JavaScript: an Error whose `code` is the stable code name.
// The TypeScript layer turns it into the matching DmdlkError subclass.
#pragma once
#include <napi.h>

#include "core/error.h"

namespace dmdlk::addon {

Napi::Error to_js_error(Napi::Env env, ErrorCode code, const std::string& message);

// Runs `body`, rethrowing a dmdlk::Error (or any std::exception) as a
// JavaScript exception with its code.
template <typename Body>
Napi::Value guarded(Napi::Env env, Body&& body) {
  try {
    return body();
  } catch (const Error& e) { throw to_js_error(env, e.code(), e.what()); } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw to_js_error(env, ErrorCode::HostOom, "out of host memory");
  } catch (const std::exception& e) { throw to_js_error(env, ErrorCode::Internal, e.what()); }
}

}  // namespace dmdlk::addon
