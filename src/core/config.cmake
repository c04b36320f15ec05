# Study files (YAML → StudyConfig) and their tests. Included from src/core/CMakeLists.txt.
target_sources(dial PRIVATE study_config.cc)
dial_add_tests(study_config_test.cc)
