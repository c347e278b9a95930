# Runs a libFuzzer binary for a short bounded run (the fuzz_<target>_run CTest tests).
#   cmake -DFUZZER=path -DWORK=scratch-dir -DFLAGS="a|b" -DCORPORA="dir1|dir2" -P run_fuzzer.cmake
# WORK is emptied first and passed as the first corpus folder, so new inputs are written there
# and the seed folders stay untouched; crash reproducers are written into WORK/artifacts/.
foreach(_v FUZZER WORK CORPORA)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${_v}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" _flags "${FLAGS}")
list(REMOVE_ITEM _flags "")
string(REPLACE "|" ";" _corpora "${CORPORA}")
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/new ${WORK}/artifacts)
execute_process(COMMAND ${FUZZER} ${_flags} -artifact_prefix=${WORK}/artifacts/ ${WORK}/new
                        ${_corpora}
                RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${_rc}); reproducers, if any, are in ${WORK}/artifacts/")
endif()
