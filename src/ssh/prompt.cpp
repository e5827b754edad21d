#include "jl/ssh/prompt.hpp"

#include <libssh/libssh.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "jl/sys/terminal.hpp"

namespace jl::ssh {

int passphrase_callback(const char* prompt, char* buf, std::size_t len, int echo, int verify,
                        void* userdata) {
  auto* ctx = static_cast<PromptContext*>(userdata);
  if (ctx == nullptr || ctx->terminal == nullptr || !ctx->terminal->interactive() || len == 0) {
    return -1;
  }
  std::string question = prompt != nullptr ? prompt : "Passphrase";
  if (!question.empty() && question.back() != ' ') {
    question += ' ';
  }
  auto answer = ctx->terminal->ask(question, echo != 0);
  if (!answer) {
    return -1;
  }
  if (verify != 0) {
    auto again = ctx->terminal->ask("Verifying - " + question, echo != 0);
    if (!again || *again != *answer) {
      std::fill(answer->begin(), answer->end(), '\0');
      return -1;
    }
    std::fill(again->begin(), again->end(), '\0');
  }
  if (answer->size() + 1 > len) {
    std::fill(answer->begin(), answer->end(), '\0');
    return -1;
  }
  std::memcpy(buf, answer->c_str(), answer->size() + 1);
  std::fill(answer->begin(), answer->end(), '\0');
  return 0;
}

bool keyboard_interactive(ssh_session session, sys::Terminal& terminal) {
  int rc = ssh_userauth_kbdint(session, nullptr, nullptr);
  // Bound the number of rounds: a server could keep asking forever.
  for (int round = 0; rc == SSH_AUTH_INFO && round < 10; ++round) {
    const char* name = ssh_userauth_kbdint_getname(session);
    const char* instruction = ssh_userauth_kbdint_getinstruction(session);
    if (name != nullptr && *name != '\0') {
      terminal.say(std::string(name) + "\n");
    }
    if (instruction != nullptr && *instruction != '\0') {
      terminal.say(std::string(instruction) + "\n");
    }
    int n = ssh_userauth_kbdint_getnprompts(session);
    for (int i = 0; i < n; ++i) {
      char echo = 0;
      const char* prompt = ssh_userauth_kbdint_getprompt(session, static_cast<unsigned>(i), &echo);
      auto answer = terminal.ask(prompt != nullptr ? prompt : "", echo != 0);
      if (!answer) {
        return false;
      }
      int set = ssh_userauth_kbdint_setanswer(session, static_cast<unsigned>(i), answer->c_str());
      std::fill(answer->begin(), answer->end(), '\0');
      if (set < 0) {
        return false;
      }
    }
    rc = ssh_userauth_kbdint(session, nullptr, nullptr);
  }
  return rc == SSH_AUTH_SUCCESS;
}

}  // namespace jl::ssh
