# Read by ctest when it runs the tests (TEST_INCLUDE_FILES), after the list of doctest cases:
# a test that hangs fails instead of blocking the run. Sampled, the slowest test takes about a
# minute under the sanitizers on two loaded cores; in long mode (SLABLOG_LONG=1) the exhaustive
# sweeps take far longer, and scaled up (SLABLOG_TEST_SCALE=N) the sampled ones N times longer.
if(("$ENV{SLABLOG_LONG}" STREQUAL "" OR "$ENV{SLABLOG_LONG}" STREQUAL "0") AND
   ("$ENV{SLABLOG_TEST_SCALE}" STREQUAL "" OR "$ENV{SLABLOG_TEST_SCALE}" STREQUAL "1"))
  set(slablog_test_timeout 600)
else()
  set(slablog_test_timeout 14400)
endif()
set_tests_properties(${slablog_tests_TESTS} PROPERTIES TIMEOUT ${slablog_test_timeout})
