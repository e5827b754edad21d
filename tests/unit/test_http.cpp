#include "jl/core/http.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using jl::http::parse_response;
using jl::http::request;
using jl::http::response_complete;

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Requests

TEST(HttpRequest, AKeptRequestLeavesTheConnectionOpenAndIsOtherwiseTheSame) {
  const auto token = std::string("3f9c2a7be0d14c8e9a6f5b2d7c1e0a4f8b3d6e9c2a5f7b1d");
  auto kept = jl::http::request_kept("GET", "172.17.0.2", 8888, "/api/status", token);
  auto closing = request("GET", "172.17.0.2", 8888, "/api/status", token);
  EXPECT_EQ(kept.find("Connection:"), std::string::npos) << kept;
  auto without = closing;
  without.erase(without.find("Connection: close\r\n"), 19);
  EXPECT_EQ(kept, without);
  EXPECT_TRUE(kept.ends_with("\r\n\r\n"));
}

TEST(HttpRequest, GetCarriesTheTokenOnlyInTheAuthorizationHeader) {
  const auto token = std::string("3f9c2a7be0d14c8e9a6f5b2d7c1e0a4f8b3d6e9c2a5f7b1d");
  auto req = request("GET", "172.17.0.2", 8888, "/api/status", token);
  EXPECT_TRUE(req.starts_with("GET /api/status HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("\r\nHost: 172.17.0.2:8888\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nAuthorization: token " + token + "\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nConnection: close\r\n"), std::string::npos) << req;
  EXPECT_EQ(count(req, token), 1U);
  auto request_line = req.substr(0, req.find("\r\n"));
  EXPECT_EQ(request_line.find(token), std::string::npos);
  EXPECT_EQ(req.find("token="), std::string::npos);
  // A GET without a body has no Content-Length, and the head ends the request.
  EXPECT_EQ(req.find("Content-Length"), std::string::npos);
  EXPECT_TRUE(req.ends_with("\r\n\r\n"));
}

TEST(HttpRequest, PostHasAnEmptyBodyWithLength) {
  auto req = request("POST", "127.0.0.1", 9000, "/nb/api/shutdown", "tok");
  EXPECT_TRUE(req.starts_with("POST /nb/api/shutdown HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("\r\nContent-Length: 0\r\n"), std::string::npos) << req;
  EXPECT_TRUE(req.ends_with("\r\n\r\n"));
}

TEST(HttpRequest, BodyFollowsTheHeadWithItsLength) {
  std::string body = R"({"name": "ünï"})";
  auto req = request("PUT", "h", 1, "/x", "tok", body);
  EXPECT_NE(req.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos)
      << req;
  EXPECT_TRUE(req.ends_with("\r\n\r\n" + body));
}

TEST(HttpRequest, Ipv6HostIsBracketed) {
  auto req = request("GET", "fd00::2", 8888, "/api/status", "tok");
  EXPECT_NE(req.find("\r\nHost: [fd00::2]:8888\r\n"), std::string::npos) << req;
}

TEST(HttpRequest, NoTokenNoAuthorizationHeader) {
  auto req = request("GET", "h", 80, "/api", "");
  EXPECT_EQ(req.find("Authorization"), std::string::npos) << req;
}

TEST(HttpRequest, EveryHeaderLineEndsInCrLf) {
  auto req = request("POST", "h", 80, "/api", "tok", "{}");
  auto head = req.substr(0, req.find("\r\n\r\n") + 2);
  EXPECT_EQ(count(head, "\n"), count(head, "\r\n"));
}

// ---------------------------------------------------------------------------------------------
// Responses

std::string tornado_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\n"
         "Server: TornadoServer/6.2\r\n"
         "Content-Type: application/json\r\n"
         "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
         "X-Content-Type-Options: nosniff\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpParseResponse, ContentLength) {
  const std::string body =
      R"({"connections": 0, "kernels": 0, "last_activity": "2024-01-01T00:00:00Z", "started": "x"})";
  auto raw = tornado_response(body);
  EXPECT_TRUE(response_complete(raw));
  auto r = parse_response(raw);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->reason, "OK");
  EXPECT_EQ(r->body, body);
  EXPECT_EQ(r->headers.at("content-type"), "application/json");
  EXPECT_EQ(r->headers.at("server"), "TornadoServer/6.2");
  EXPECT_EQ(r->headers.at("content-length"), std::to_string(body.size()));
  EXPECT_EQ(r->headers.count("Content-Type"), 0U);
}

TEST(HttpParseResponse, ContentLengthShortBodyIsIncompleteLongBodyIsCut) {
  auto raw = tornado_response("0123456789");
  for (std::size_t cut = 0; cut < raw.size(); ++cut) {
    auto partial = raw.substr(0, cut);
    EXPECT_FALSE(response_complete(partial)) << cut;
    EXPECT_FALSE(parse_response(partial).has_value()) << cut;
  }
  auto r = parse_response(raw + "trailing junk");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "0123456789");
}

TEST(HttpParseResponse, Chunked) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\n"
      "transfer-encoding: Chunked\r\n"
      "\r\n"
      "4\r\nWiki\r\n"
      "5;name=value\r\npedia\r\n"
      "E\r\n in\r\n\r\nchunks.\r\n"
      "0\r\n"
      "\r\n";
  EXPECT_TRUE(response_complete(raw));
  auto r = parse_response(raw);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "Wikipedia in\r\n\r\nchunks.");
}

TEST(HttpParseResponse, ChunkedWinsOverContentLength) {
  const std::string raw =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n";
  auto r = parse_response(raw);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "abc");
}

TEST(HttpParseResponse, IncompleteOrMalformedChunked) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::vector<std::string> bodies = {
      "",
      "4\r\nWi",
      "4\r\nWiki\r\n",
      "4\r\nWiki\r\n0",
      "zz\r\nWiki\r\n0\r\n\r\n",
      "\r\nWiki\r\n0\r\n\r\n",
      "123456789\r\nx\r\n0\r\n\r\n",
  };
  for (const auto& b : bodies) {
    EXPECT_FALSE(response_complete(head + b)) << b;
    EXPECT_FALSE(parse_response(head + b).has_value()) << b;
  }
}

TEST(HttpParseResponse, NoLengthTakesEverythingButIsNeverCompleteEarly) {
  const std::string raw =
      "HTTP/1.0 403 Forbidden\r\nContent-Type: text/html\r\n\r\n<html>no</html>";
  EXPECT_FALSE(response_complete(raw));
  auto r = parse_response(raw);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->reason, "Forbidden");
  EXPECT_EQ(r->body, "<html>no</html>");
}

TEST(HttpParseResponse, NoContentStatusesAreCompleteWithoutLength) {
  for (const char* raw :
       {"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n", "HTTP/1.1 304 Not Modified\r\n\r\n"}) {
    EXPECT_TRUE(response_complete(raw)) << raw;
    auto r = parse_response(raw);
    ASSERT_TRUE(r.has_value()) << raw;
    EXPECT_EQ(r->body, "");
  }
}

TEST(HttpParseResponse, StatusLineWithoutReason) {
  auto r = parse_response("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->reason, "");
}

TEST(HttpParseResponse, HeaderValuesAreTrimmedAndNamesLowerCased) {
  auto r = parse_response("HTTP/1.1 302 Found\r\nLOCATION:   /login?next=%2F  \r\nX-A:b\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->headers.at("location"), "/login?next=%2F");
  EXPECT_EQ(r->headers.at("x-a"), "b");
}

TEST(HttpParseResponse, NotHttp) {
  const std::vector<std::string> bad = {
      "",
      "\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",  // head not finished
      "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n\r\n",
      "HTTP/1.1 OK\r\n\r\n",
      "HTTP/1.1 abc OK\r\n\r\n",
      "HTTP/1.1  200 OK\r\n\r\n",
      "HTTP/1.1 099 Low\r\n\r\n",
      "HTTP/2 200\r\n\r\n",
      "http/1.1 200 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
  };
  for (const auto& raw : bad) {
    EXPECT_FALSE(parse_response(raw).has_value()) << raw;
    EXPECT_FALSE(response_complete(raw)) << raw;
  }
}

}  // namespace
