# Writes a C++ header holding files' bytes, so the binary can print them exactly.
# Run as: cmake -DOUTPUT=header -DNAMES=n1,n2 -DFILES=f1,f2 -P embed_files.cmake
# Each file becomes `inline constexpr unsigned char NAME[]` plus `NAME_size`.
cmake_minimum_required(VERSION 3.22)

string(REPLACE "," ";" NAMES "${NAMES}")
string(REPLACE "," ";" FILES "${FILES}")

set(text "// Generated from ${FILES} by cmake/embed_files.cmake; do not edit.\n#pragma once\n\n#include <cstddef>\n\nnamespace jl::embedded {\n")
foreach(name file IN ZIP_LISTS NAMES FILES)
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  # Lines of 16 bytes keep the header readable for a compiler and a person.
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n    " bytes "${bytes}")
  string(APPEND text "\ninline constexpr unsigned char ${name}[] = {\n    ${bytes}0x00};\n")
  string(APPEND text "inline constexpr std::size_t ${name}_size = ${size};\n")
endforeach()
string(APPEND text "\n}  // namespace jl::embedded\n")

file(WRITE "${OUTPUT}" "${text}")
