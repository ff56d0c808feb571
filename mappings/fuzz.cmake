# libFuzzer targets, one per codec (-DHIE_FUZZ=ON, clang only):
#   v2_fuzz    HL7 v2: SplitEr7, ReadMsh, charsets, Er7Message, ACKs, v2 -> canonical -> v2
#   cda_fuzz   CDA R2: ReadCda, WriteCda, ReadCda again
#   fhir_fuzz  FHIR R4 JSON: ReadFhir, WriteFhir, ReadFhir again, -> v2 and CDA
# Coverage feedback needs the codecs instrumented too, so hie_core and
# hie_mappings are compiled with -fsanitize=fuzzer-no-link,address: a fuzz
# build is a build directory of its own (tools/test makes build-fuzz and
# builds only these three targets). Each target is also a CTest test
# "fuzz.<name>": a brief run (HIE_FUZZ_SECONDS seconds, v2 four times that) seeded from
# ../shared/corpus and tests/golden, failing on any crash, leak, timeout or
# broken invariant; the crashing input is left in <build>/fuzz/<name>/
# (crash-*, leak-*, timeout-*). Longer runs by hand:
#   build-fuzz/mappings/v2_fuzz -max_total_time=600 build-fuzz/fuzz/v2_fuzz/corpus ../shared/corpus/hl7v2
# Included from mappings/CMakeLists.txt.
if(NOT HIE_FUZZ)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "HIE_FUZZ=ON 需要 clang (needs clang): CC=clang CXX=clang++ cmake -DHIE_FUZZ=ON ...")
endif()

set(HIE_FUZZ_SECONDS 5 CACHE STRING "seconds each fuzz.<target> CTest run lasts")
set(HIE_FUZZ_INSTRUMENT -fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer)
target_compile_options(hie_mappings PRIVATE ${HIE_FUZZ_INSTRUMENT})
target_compile_options(hie_core PRIVATE ${HIE_FUZZ_INSTRUMENT})
# Whatever else links them (tests, the hub, when configured in the same
# build) links the sanitizer runtimes too.
target_link_options(hie_mappings INTERFACE -fsanitize=fuzzer-no-link,address)
target_link_options(hie_core INTERFACE -fsanitize=fuzzer-no-link,address)

set(HIE_FUZZ_SEEDS_v2_fuzz ${HIE_CORPUS_DIR}/hl7v2 ${CMAKE_SOURCE_DIR}/tests/golden/v2)
set(HIE_FUZZ_SEEDS_cda_fuzz ${HIE_CORPUS_DIR}/cda ${CMAKE_SOURCE_DIR}/tests/golden/cda)
set(HIE_FUZZ_SEEDS_fhir_fuzz ${CMAKE_SOURCE_DIR}/tests/golden)
set(HIE_FUZZ_SOURCE_v2_fuzz hl7v2/v2_fuzz.cc)
set(HIE_FUZZ_SOURCE_cda_fuzz cda/cda_fuzz.cc)
set(HIE_FUZZ_SOURCE_fhir_fuzz canonical/fhir_fuzz.cc)
# libFuzzer's clock includes replaying the seeds first: the ~950 HL7 v2
# corpus messages take 10-20 s under ASan on a 2-core VM, so v2_fuzz gets
# four times the budget to leave time for mutations after the replay.
math(EXPR HIE_FUZZ_TIME_v2_fuzz "${HIE_FUZZ_SECONDS} * 4")
set(HIE_FUZZ_TIME_cda_fuzz ${HIE_FUZZ_SECONDS})
set(HIE_FUZZ_TIME_fhir_fuzz ${HIE_FUZZ_SECONDS})

foreach(name v2_fuzz cda_fuzz fhir_fuzz)
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/${HIE_FUZZ_SOURCE_${name}})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address -fno-omit-frame-pointer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address)
  target_link_libraries(${name} PRIVATE hie_mappings)
  # The first directory is the working corpus (new inputs go there); the
  # seed directories after it are only read.
  set(work ${CMAKE_BINARY_DIR}/fuzz/${name})
  add_test(NAME fuzz.${name}
           COMMAND sh -c "mkdir -p '${work}/corpus' && exec \"$0\" \"$@\""
                   $<TARGET_FILE:${name}> ${work}/corpus ${HIE_FUZZ_SEEDS_${name}}
                   -max_total_time=${HIE_FUZZ_TIME_${name}} -timeout=10 -rss_limit_mb=2048
                   -artifact_prefix=${work}/ -print_final_stats=1)
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz
                       TIMEOUT 300
                       ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1")
endforeach()
