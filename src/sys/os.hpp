#pragma once

// Which implementation of each OS interface this build of sys uses (docs/design.md,
// "Portability", lists them): exactly one of these is 1. JL_PORTABLE (cmake -DJL_PORTABLE=ON)
// picks the plain-POSIX one everywhere, so that the code a Mac runs, short of the macOS calls
// themselves, is tested on Linux too. Only sys/ includes this header: nothing above sys may
// depend on the OS.

#if defined(JL_PORTABLE)
#define JL_SYS_LINUX 0
#define JL_SYS_MACOS 0
#define JL_SYS_POSIX 1
#elif defined(__linux__)
#define JL_SYS_LINUX 1
#define JL_SYS_MACOS 0
#define JL_SYS_POSIX 0
#elif defined(__APPLE__)
#define JL_SYS_LINUX 0
#define JL_SYS_MACOS 1
#define JL_SYS_POSIX 0
#else
#define JL_SYS_LINUX 0
#define JL_SYS_MACOS 0
#define JL_SYS_POSIX 1
#endif
