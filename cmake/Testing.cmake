# cdc_unit_test(NAME src... LIBS lib...)        a GoogleTest binary labelled "unit" (runs under ASan too)
# cdc_integration_test(NAME src... LIBS lib...) a GoogleTest binary labelled "integration": starts real
#                                               components (PostgreSQL, Kafka mock, s3rver, DuckDB)
# cdc_fuzz_replay_test(TARGET SEEDS s... [DICT file] [FRAMED] RUNS n LIBS lib...)
#                                               fuzz/TARGET.cc's entry point on its seeds and n fixed
#                                               mutations (fuzz/fuzz_replay_test.cc), a unit test named
#                                               TARGET_replay_test: every libFuzzer target runs in every build
# One ctest entry per binary: an integration binary shares one private PostgreSQL cluster across its tests.
function(cdc_unit_test name)
  cmake_parse_arguments(T "" "" "SRCS;LIBS" ${ARGN})
  add_executable(${name} ${T_SRCS})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 600)
endfunction()

function(cdc_integration_test name)
  if(CDC_UNIT_ONLY)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SRCS;LIBS" ${ARGN})
  add_executable(${name} ${T_SRCS})
  target_link_libraries(${name} PRIVATE ${T_LIBS} cdc_test_support GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 1500)
endfunction()

function(cdc_fuzz_replay_test target)
  cmake_parse_arguments(T "FRAMED" "DICT;RUNS" "SEEDS;LIBS" ${ARGN})
  set(name ${target}_replay_test)
  cdc_unit_test(${name}
    SRCS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_replay_test.cc ${CMAKE_SOURCE_DIR}/fuzz/${target}.cc
    LIBS ${T_LIBS})
  list(JOIN T_SEEDS "|" seeds)
  if(T_FRAMED)
    set(framed 1)
  else()
    set(framed 0)
  endif()
  target_compile_definitions(${name} PRIVATE "CDC_FUZZ_SEEDS=\"${seeds}\"" "CDC_FUZZ_DICT=\"${T_DICT}\""
    CDC_FUZZ_FRAMED=${framed} CDC_FUZZ_RUNS=${T_RUNS})
endfunction()
