#pragma once

// The remote shell scripts (src/core/scripts/*.sh), embedded at build time byte for byte, so
// that they are ordinary files a shell linter reads. Private to core: the scripts are data of
// the parsers beside them.

#include <string_view>

#include "jl/core_scripts.hpp"

namespace jl::scripts {

#define JL_SCRIPT(name)                                                                    \
  inline std::string_view name() {                                                         \
    return {reinterpret_cast<const char*>(jl::embedded::name), jl::embedded::name##_size}; \
  }
JL_SCRIPT(prelude)
JL_SCRIPT(probe_outer)
JL_SCRIPT(probe_inner)
JL_SCRIPT(start_inner)
JL_SCRIPT(stop_inner)
JL_SCRIPT(doctor_outer)
JL_SCRIPT(doctor_inner)
JL_SCRIPT(jupyter_config)
JL_SCRIPT(find_python)
JL_SCRIPT(logs)
JL_SCRIPT(ensure_container)
JL_SCRIPT(gpus)
JL_SCRIPT(helper)
JL_SCRIPT(pull_image)
JL_SCRIPT(slurm_job)
JL_SCRIPT(slurm_step)
JL_SCRIPT(slurm_state)
JL_SCRIPT(slurm_doctor)
#undef JL_SCRIPT

}  // namespace jl::scripts
