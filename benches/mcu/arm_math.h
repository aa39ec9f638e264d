/* The part of CMSIS-DSP's arm_math.h that matvec.c and AIfES's CMSIS backend use (matrix and
   basic math functions): CMSIS-DSP's own arm_math.h includes every header of the library,
   and vendor/cmsis-dsp holds only these (see vendor/cmsis-dsp/README.md). Our file, not
   CMSIS-DSP's: declarations only, so the compiled kernels are the same. */
#ifndef ARM_MATH_H
#define ARM_MATH_H
#include "arm_math_types.h"
#include "arm_math_memory.h"
#include "dsp/none.h"
#include "dsp/utils.h"
#include "dsp/basic_math_functions.h"
#include "dsp/matrix_functions.h"
#endif
