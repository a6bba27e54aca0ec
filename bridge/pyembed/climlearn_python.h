/**
 * climlearn_python.h: C API of libclimlearn_python, the Fortran/C -> Python bridge.
 *
 * An embedded CPython interpreter (cffi's embedding mode) runs Python callables named
 * "package.module:function" on arrays of the host program, without copying them:
 *
 *   cl_py_init(NULL);                                    // once, early
 *   cl_py_call("mypkg.model:predict", 1, in, 1, out);    // every time step
 *   cl_py_finalize();                                    // once, at the end
 *
 * Every function returns an int status: CL_OK (0) on success, a CL_ERR_* code of
 * climlearn.h otherwise (same values), and cl_py_last_error() explains the failure.
 * Nothing here exits the process or prints to stdout; a Python exception becomes
 * CL_ERR_RUNTIME with the exception type, message and last traceback line.
 *
 * The library does not need libclimlearn (nor libtorch): a program that only calls Python
 * links -lclimlearn_python alone (see `climlearn-config --python-libs`).
 */
#ifndef CLIMLEARN_PYTHON_H
#define CLIMLEARN_PYTHON_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CL_PY_MAX_RANK 4   /**< ranks 1 .. CL_PY_MAX_RANK cross the bridge */
#define CL_PY_NAME_LEN 64  /**< bytes of a name, including its terminating NUL */

/** Element types (1 and 2 equal CL_FLOAT32 and CL_FLOAT64 of climlearn.h). */
enum cl_py_dtype {
  CL_PY_FLOAT32 = 1,  /**< float, real(real32), numpy float32 */
  CL_PY_FLOAT64 = 2,  /**< double, real(real64), numpy float64 */
  CL_PY_INT32 = 3     /**< int32_t, integer(int32), numpy int32 */
};

/** Why a descriptor cannot be used (set by the Fortran module when it builds one). */
enum cl_py_problem {
  CL_PY_FINE = 0,
  CL_PY_NOT_CONTIGUOUS = 1,  /**< the Fortran array was not contiguous */
  CL_PY_NAME_TOO_LONG = 2    /**< the name does not fit in CL_PY_NAME_LEN - 1 bytes */
};

/**
 * One named array crossing the bridge (interoperable with the Fortran bind(c) type
 * `cl_py_array` of module climlearn_python). data points at a contiguous, column-major
 * array; shape[0..rank-1] are its extents in Fortran order: Python sees a numpy array of
 * exactly that shape in Fortran order (a view, not a copy). Inputs are read-only in
 * Python unless writable is non-zero. The descriptor does not own the memory.
 */
typedef struct cl_py_array {
  char name[CL_PY_NAME_LEN];       /**< NUL-terminated name (the keyword in Python) */
  void *data;                      /**< first element (may be NULL when the size is 0) */
  int32_t dtype;                   /**< enum cl_py_dtype */
  int32_t rank;                    /**< 1 .. CL_PY_MAX_RANK */
  int32_t writable;                /**< inputs: non-zero lets Python write into the array */
  int32_t problem;                 /**< enum cl_py_problem; CL_PY_FINE for a usable one */
  int64_t shape[CL_PY_MAX_RANK];   /**< extents, Fortran order */
} cl_py_array;

/**
 * Start the interpreter now (not lazily) with the environment climlearn is installed in:
 * the standard library of the Python that built the package, and the site-packages
 * folder holding climlearn (a virtualenv's included) on sys.path, whatever PATH,
 * PYTHONHOME or VIRTUAL_ENV say. PYTHONPATH, when set, is still honoured; the
 * environment variable CLIMLEARN_PYTHON_HOME replaces the built-in home (for a relocated
 * Python). The host's signal handlers are left alone and Python's output is unbuffered.
 * extra_path: NULL or folders separated by ':' put first on sys.path.
 * Calling it again after success does nothing and returns CL_OK.
 */
int cl_py_init(const char *extra_path);

/** Non-zero once cl_py_init succeeded (and cl_py_finalize was not called). */
int cl_py_is_initialized(void);

/**
 * Call the Python callable `target` ("package.module:function", attributes may be
 * dotted) with the inputs as keyword arguments (name=numpy view), and write the arrays
 * it returns (a mapping name -> array; a single array when there is one output) into
 * the outputs, after checking their shapes and dtypes.
 */
int cl_py_call(const char *target, int n_inputs, const cl_py_array *inputs,
               int n_outputs, const cl_py_array *outputs);

/**
 * Forget the cached callables, collect garbage, flush Python's output and shut the
 * interpreter down (when this library started it). Python cannot be started again in
 * the same process afterwards (cl_py_init then fails with CL_ERR_STATE).
 */
int cl_py_finalize(void);

/** Last error message on the calling thread ("" if none); valid until the next call. */
const char *cl_py_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* CLIMLEARN_PYTHON_H */
