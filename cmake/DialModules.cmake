# One static library per module, each linking only the modules below it (docs/design.md, "Layers").
#
#   dial_module(NAME SOURCES a.cc b.cc DEPENDS lower libraries PRIVATE_DEPENDS third-party libraries)
#
# The build holds the layering: for every module a program `NAME_layer_check` is linked from all of the module's
# objects and nothing but its declared dependencies. A function that calls upward (a module of a layer above, or
# one it does not declare) is an undefined reference there, so the build fails and names the symbol. A static
# library alone would not show it: the final program links every layer, and the linker finds the symbol anyway.

# Unit tests live beside their sources (foo_test.cc); each module adds its own with dial_add_tests().
set_property(GLOBAL PROPERTY DIAL_UNIT_TEST_SOURCES "")
function(dial_add_tests)
  foreach(f ${ARGN})
    set_property(GLOBAL APPEND PROPERTY DIAL_UNIT_TEST_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${f})
  endforeach()
endfunction()

set_property(GLOBAL PROPERTY DIAL_MODULES "")

function(dial_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(${name} STATIC ${M_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${M_DEPENDS} PRIVATE ${M_PRIVATE_DEPENDS})
  add_executable(${name}_layer_check ${PROJECT_SOURCE_DIR}/cmake/layer_check_main.cc $<TARGET_OBJECTS:${name}>)
  # Every library the module links, including those added to it later (target_link_libraries in its folder).
  target_link_libraries(${name}_layer_check PRIVATE "$<TARGET_PROPERTY:${name},LINK_LIBRARIES>")
  set_property(GLOBAL APPEND PROPERTY DIAL_MODULES ${name})
endfunction()

# Sources added to a module after dial_module() (from its subfolders).
function(dial_module_sources name)
  foreach(f ${ARGN})
    get_filename_component(path ${f} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    target_sources(${name} PRIVATE ${path})
  endforeach()
endfunction()

# A module's built-in implementations that register themselves by name (the samplers, the pruners): their own small
# library, linked whole into every program that links the module, so that the linker cannot drop the registration.
function(dial_module_registration name)
  cmake_parse_arguments(R "" "" "SOURCES" ${ARGN})
  add_library(${name}_registration STATIC ${R_SOURCES})
  target_link_libraries(${name}_registration PRIVATE ${name})
  target_link_libraries(${name} INTERFACE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${name}_registration>")
endfunction()
