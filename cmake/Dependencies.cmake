# Every third-party dependency is found here, once. See ../shared/ENVIRONMENT.md for which packages
# ship CMake config files and which need pkg-config or a Find module.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(CURL REQUIRED)
find_package(GTest REQUIRED)
find_package(Snappy CONFIG REQUIRED)
find_package(zstd CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(simdjson CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(benchmark CONFIG REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(MICROHTTPD REQUIRED IMPORTED_TARGET libmicrohttpd)
find_package(OpenSSL REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)

# cdcpipe opens libpq, librdkafka, libcurl, libcrypto and libmicrohttpd at run time, on first use (src/base/dynlib.h):
# our libraries use their headers only, so the binary does not load them (and the ~30 libraries they
# pull in) at start-up. These targets carry just the include directories. The imported targets above
# stay for programs that call a library directly (tools/kafka-mock, tests on librdkafka's mock
# cluster); the tables then point into that same copy.
function(cdc_headers_only name imported)
  add_library(${name} INTERFACE)
  target_include_directories(${name} INTERFACE $<TARGET_PROPERTY:${imported},INTERFACE_INCLUDE_DIRECTORIES>)
  target_compile_definitions(${name} INTERFACE $<TARGET_PROPERTY:${imported},INTERFACE_COMPILE_DEFINITIONS>)
endfunction()
cdc_headers_only(cdc_libpq_headers PostgreSQL::PostgreSQL)
cdc_headers_only(cdc_rdkafka_headers PkgConfig::RDKAFKA)
cdc_headers_only(cdc_libcurl_headers CURL::libcurl)
cdc_headers_only(cdc_libcrypto_headers OpenSSL::Crypto)
cdc_headers_only(cdc_microhttpd_headers PkgConfig::MICROHTTPD)

# Snappy and zstd are linked statically (the -dev packages ship the .a files): two fewer shared
# libraries to map and relocate at every start, about half a millisecond on this project's VM
# (docs/BENCHMARKS.md, start-up). The shared ones are the fallback.
if(TARGET zstd::libzstd_static)
  set(CDC_ZSTD_TARGET zstd::libzstd_static)
else()
  set(CDC_ZSTD_TARGET zstd::libzstd_shared)
endif()
# yaml-cpp likewise (only `cdcpipe` reads YAML, once, at start-up): the static archive when Debian's
# -dev package ships it, else the shared library.
find_library(CDC_YAML_CPP_ARCHIVE NAMES libyaml-cpp.a)
if(CDC_YAML_CPP_ARCHIVE)
  add_library(cdc_yaml_cpp INTERFACE)
  target_link_libraries(cdc_yaml_cpp INTERFACE ${CDC_YAML_CPP_ARCHIVE})
  target_include_directories(cdc_yaml_cpp INTERFACE $<TARGET_PROPERTY:yaml-cpp,INTERFACE_INCLUDE_DIRECTORIES>)
  set(CDC_YAML_CPP_TARGET cdc_yaml_cpp)
else()
  set(CDC_YAML_CPP_TARGET yaml-cpp)
endif()
if(TARGET Snappy::snappy-static)
  set(CDC_SNAPPY_TARGET Snappy::snappy-static)
else()
  set(CDC_SNAPPY_TARGET Snappy::snappy)
endif()

# libpg_query (Debian libpg-query-dev: PostgreSQL 15's own grammar) parses the views file. Linked
# from its static archive like yaml-cpp: only views loading uses it, once, at start-up.
find_path(CDC_PG_QUERY_INCLUDE pg_query.h REQUIRED)
find_library(CDC_PG_QUERY_LIBRARY NAMES libpg_query.a pg_query REQUIRED)
add_library(cdc_pg_query INTERFACE)
target_include_directories(cdc_pg_query INTERFACE ${CDC_PG_QUERY_INCLUDE})
target_link_libraries(cdc_pg_query INTERFACE ${CDC_PG_QUERY_LIBRARY} Threads::Threads)
