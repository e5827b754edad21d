#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace jl::http {

// An HTTP/1.1 request with "Connection: close", authenticated with a Jupyter token in the
// Authorization header (never in the URL, so it does not end up in access logs).
std::string request(std::string_view method, std::string_view host, int port, std::string_view path,
                    std::string_view token, std::string_view body = {});
// The same without "Connection: close": the server keeps the connection for another request
// (a master keeps the channel; see mux's tcp "keep"). Read its answer with response_complete.
std::string request_kept(std::string_view method, std::string_view host, int port,
                         std::string_view path, std::string_view token);

struct Response {
  int status = 0;
  std::string reason;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// Parse a complete response (the server closed the connection after it). Handles
// Content-Length and chunked bodies. Returns nothing if the bytes are not an HTTP response.
std::optional<Response> parse_response(std::string_view raw);

// True once `raw` holds a whole response, so a reader may stop before the peer closes.
bool response_complete(std::string_view raw);

}  // namespace jl::http
