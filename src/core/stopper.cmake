# Study-level stoppers (include/dial/stopper.h) and their tests. Included from src/core/CMakeLists.txt.
target_sources(dial PRIVATE stopper.cc)
dial_add_tests(stopper_test.cc stopper_config_test.cc)
