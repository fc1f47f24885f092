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

# At most one sanitizer build at a time: ThreadSanitizer cannot be combined
# with AddressSanitizer, and the fuzz build already includes ASan and UBSan.
option(CF_TSAN "Build with -fsanitize=thread" OFF)
option(CF_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)
if((CF_TSAN AND CF_SANITIZE) OR (CF_TSAN AND CF_FUZZ) OR (CF_SANITIZE AND CF_FUZZ))
  message(FATAL_ERROR "CF_SANITIZE, CF_TSAN and CF_FUZZ are mutually exclusive: "
                      "CF_SANITIZE=${CF_SANITIZE} CF_TSAN=${CF_TSAN} CF_FUZZ=${CF_FUZZ}. "
                      "Use a separate build folder for each.")
endif()

if(CF_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

if(CF_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

# Fuzzing: every target gets coverage instrumentation and ASan + UBSan (a
# UBSan report aborts, so the fuzzer counts it as a crash); only the fuzz
# targets link libFuzzer's main (tests/fuzz/CMakeLists.txt).
if(CF_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CF_FUZZ needs clang (libFuzzer); configure with CXX=clang++, "
                        "not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
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
