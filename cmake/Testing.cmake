# cdc_unit_test(NAME src... LIBS lib...)        a GoogleTest binary labelled "unit" (runs under ASan too)
# cdc_integration_test(NAME src... LIBS lib...) a GoogleTest binary labelled "integration": starts real
#                                               components (PostgreSQL, Kafka mock, s3rver, DuckDB)
# cdc_fuzz_replay_test(TARGET SEEDS s... [DICT file] [FRAMED] RUNS n LIBS lib...)
#                                               fuzz/TARGET.cc's entry point on its seeds and n fixed
#                                               mutations (fuzz/fuzz_replay_test.cc), a unit test named
#                                               TARGET_replay_test: every libFuzzer target runs in every build
# One ctest entry per binary: an integration binary shares one private PostgreSQL cluster across its tests.
#
# Test code (not the libraries it tests) is compiled at -O1 in optimized builds: at -O3 the GoogleTest
# and nlohmann::json templates of the test files took about three times as long to compile, most of the
# CI's build time, and a test's own code is never where its time goes. The ASan build sets -O1 already.
set(CDC_TEST_COMPILE_OPTIONS $<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-O1>)
function(cdc_unit_test name)
  cmake_parse_arguments(T "" "" "SRCS;LIBS" ${ARGN})
  add_executable(${name} ${T_SRCS})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  target_compile_options(${name} PRIVATE ${CDC_TEST_COMPILE_OPTIONS})
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
  target_compile_options(${name} PRIVATE ${CDC_TEST_COMPILE_OPTIONS})
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 1500)
endfunction()

function(cdc_fuzz_replay_test target)
  cmake_parse_arguments(T "FRAMED" "DICT;RUNS" "SEEDS;LIBS" ${ARGN})
  set(name ${target}_replay_test)
  # The replay driver is compiled once for every target; fuzz_replay_config.cc, per target, carries
  # what it replays (fuzz/fuzz_replay_config.h).
  if(NOT TARGET cdc_fuzz_replay_driver)
    add_library(cdc_fuzz_replay_driver OBJECT ${CMAKE_SOURCE_DIR}/fuzz/fuzz_replay_test.cc)
    target_link_libraries(cdc_fuzz_replay_driver PRIVATE GTest::gtest)
    target_compile_options(cdc_fuzz_replay_driver PRIVATE ${CDC_TEST_COMPILE_OPTIONS})
  endif()
  cdc_unit_test(${name}
    SRCS $<TARGET_OBJECTS:cdc_fuzz_replay_driver> ${CMAKE_SOURCE_DIR}/fuzz/fuzz_replay_config.cc
      ${CMAKE_SOURCE_DIR}/fuzz/${target}.cc
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
