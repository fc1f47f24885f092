# Warnings, floating-point and sanitizer settings shared by every target.

function(cf_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra)
  endif()
endfunction()

# No contraction of a*b+c into fma behind our back: the scalar reference
# kernels must round the same way on every compiler and CPU, so that results
# are reproducible and SIMD kernels can be compared with them. The SIMD
# kernels use fma explicitly where they mean it.
if(NOT MSVC)
  add_compile_options(-ffp-contract=off)
endif()

# ThreadSanitizer cannot be combined with AddressSanitizer, so a TSan build
# is a build of its own. The fuzz build is the ASan + UBSan build plus the
# libFuzzer targets (clang only): CI builds it once, runs the whole test suite
# in it, then fuzzes.
option(CF_TSAN "Build with -fsanitize=thread" OFF)
option(CF_FUZZ "Also build the libFuzzer targets of tests/fuzz (clang only; implies CF_SANITIZE)" OFF)
if(CF_TSAN AND (CF_SANITIZE OR CF_FUZZ))
  message(FATAL_ERROR "CF_TSAN cannot be combined with CF_SANITIZE or CF_FUZZ "
                      "(CF_SANITIZE=${CF_SANITIZE}, CF_FUZZ=${CF_FUZZ}): "
                      "use a separate build folder for each.")
endif()
if(CF_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CF_FUZZ needs clang (libFuzzer); configure with CXX=clang++, "
                        "not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  set(CF_SANITIZE ON)
endif()

# A UBSan report aborts (-fno-sanitize-recover), so that a test or a fuzzer
# counts it as a failure.
if(CF_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

if(CF_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

# The x86 SIMD sources get their instruction-set flags; elsewhere (ARM, or a
# compiler without them) they are left out and the scalar path is the only one.
include(CheckCXXCompilerFlag)
function(cf_set_simd_flags avx2_sources avx512_sources)
  set(x86 FALSE)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i[3-6]86|x86)$")
    set(x86 TRUE)
  endif()
  if(x86 AND NOT MSVC)
    check_cxx_compiler_flag("-mavx2 -mfma" CF_HAS_AVX2_FLAGS)
    check_cxx_compiler_flag("-mavx512f" CF_HAS_AVX512_FLAGS)
  elseif(x86 AND MSVC)
    set(CF_HAS_AVX2_FLAGS TRUE)
    set(CF_HAS_AVX512_FLAGS TRUE)
  endif()
  if(MSVC)
    set(avx2_flags "/arch:AVX2")
    set(avx512_flags "/arch:AVX512")
  else()
    set(avx2_flags "-mavx2;-mfma")
    set(avx512_flags "-mavx512f;-mavx512dq;-mavx512bw;-mavx512vl;-mfma")
  endif()
  foreach(isa AVX2 AVX512)
    string(TOLOWER ${isa} lower)
    set(sources "${${lower}_sources}")
    if(CF_HAS_${isa}_FLAGS AND sources)
      set_source_files_properties(${sources} PROPERTIES COMPILE_OPTIONS "${${lower}_flags}")
      target_compile_definitions(cf PRIVATE CF_HAVE_${isa}=1)
    elseif(sources)
      set_source_files_properties(${sources} PROPERTIES HEADER_FILE_ONLY TRUE)
    endif()
  endforeach()
endfunction()
