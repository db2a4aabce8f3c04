// The error type that crosses the core boundary. Core functions throw birkhoff::Error with a
// message that names the file, tensor or setting at fault; the CLI turns it into a message and
// an exit code, the GUI into a message box. Raw c10::Error never reaches the user: callers of
// LibTorch wrap it with rethrowAsError().
#pragma once

#include <stdexcept>
#include <string>

namespace birkhoff {

/// A recoverable failure (bad file, bad parameter, unsupported content) with a user-facing message.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Thrown when a long operation stops because its CancelToken was triggered.
class CancelledError : public Error {
public:
    CancelledError() : Error("cancelled") {}
};

/// Runs `fn`; any c10::Error or std::exception other than birkhoff::Error is rethrown as
/// birkhoff::Error prefixed with `context` (e.g. "loading image_encoder.blocks.0.attn.qkv.weight").
template <typename Fn>
auto rethrowAsError(const std::string& context, Fn&& fn) -> decltype(fn())
{
    try {
        return fn();
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        std::string what = e.what();
        // c10::Error messages carry a C++ backtrace after the first line; keep the first line.
        const auto newline = what.find('\n');
        if (newline != std::string::npos)
            what.resize(newline);
        throw Error(context + ": " + what);
    }
}

}  // namespace birkhoff
