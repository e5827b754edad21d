#pragma once

#include <cstddef>

struct ssh_session_struct;

namespace jl::sys {
class Terminal;
}

namespace jl::ssh {

struct PromptContext {
  sys::Terminal* terminal = nullptr;
};

// libssh's auth callback: asks for a key passphrase on the terminal. Returns -1 (no answer)
// when there is no terminal, so that jl never blocks waiting for input nobody can give.
int passphrase_callback(const char* prompt, char* buf, std::size_t len, int echo, int verify,
                        void* userdata);

// Run the keyboard-interactive exchange on the terminal. True when it authenticated.
bool keyboard_interactive(ssh_session_struct* session, sys::Terminal& terminal);

}  // namespace jl::ssh
