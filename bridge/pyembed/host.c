/* The C half of libclimlearn_python, compiled inside the module that cffi generates
 * (build_embedding.py reads this file into ffibuilder.set_source). The exported
 * cl_py_* functions live here; they start the interpreter explicitly and then enter
 * Python through the clpy_impl_* functions, which cffi implements in Python
 * (climlearn/pyembed.py installs them).
 *
 * Why the explicit start: cffi would otherwise start Python lazily on the first call,
 * finding its standard library by searching PATH for `python3` (the wrong Python when
 * another one comes first), and when its init code fails, the exported functions return
 * 0 = "success". Here the interpreter is configured from where the library is installed,
 * and the Python side must set `done` for a call to count as having run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "climlearn_python.h"

#ifndef CL_PY_HOME
#error "CL_PY_HOME (sys.base_prefix of the building Python) must be defined"
#endif

enum { CLPY_OK = 0, CLPY_ERR_ARGUMENT = 1, CLPY_ERR_RUNTIME = 8, CLPY_ERR_STATE = 9 };
enum { CLPY_NEW = 0, CLPY_READY = 1, CLPY_FINALIZED = 2 };

static int clpy_state = CLPY_NEW;
static int clpy_owns_interpreter = 0;
static _Thread_local char clpy_error[8192];
static char clpy_site[PATH_MAX];
static char clpy_extra[PATH_MAX * 4];

/* ---- helpers the Python side calls (declared in the cdef) ----------------------------- */

static void clpy_set_error(const char *message) {
  snprintf(clpy_error, sizeof clpy_error, "%s", message ? message : "");
}

static const char *clpy_site_dir(void) { return clpy_site; }

static const char *clpy_extra_path(void) { return clpy_extra; }

/* ---- locating the environment ------------------------------------------------------- */

static int clpy_fail(int status, const char *message) {
  clpy_set_error(message);
  return status;
}

static void clpy_dirname(char *path) {
  char *slash = strrchr(path, '/');
  if (slash == NULL) {
    strcpy(path, ".");
  } else if (slash == path) {
    path[1] = '\0';
  } else {
    *slash = '\0';
  }
}

static int clpy_is_file(const char *path) { return access(path, F_OK) == 0; }

/* site-packages folder holding climlearn: <site>/climlearn/lib/libclimlearn_python.so */
static int clpy_find_site(void) {
  Dl_info info;
  char resolved[PATH_MAX];
  if (dladdr((void *)&cl_py_init, &info) == 0 || info.dli_fname == NULL) return -1;
  if (realpath(info.dli_fname, resolved) == NULL) return -1;
  clpy_dirname(resolved); /* .../climlearn/lib */
  clpy_dirname(resolved); /* .../climlearn */
  clpy_dirname(resolved); /* site-packages */
  snprintf(clpy_site, sizeof clpy_site, "%s", resolved);
  return 0;
}

/* The interpreter of a virtualenv whose site-packages is clpy_site
 * (<venv>/lib/pythonX.Y/site-packages, with <venv>/pyvenv.cfg), or "" if not in one. */
static void clpy_find_venv_python(char *exe, size_t n) {
  char prefix[PATH_MAX], probe[PATH_MAX + 32];
  exe[0] = '\0';
  snprintf(prefix, sizeof prefix, "%s", clpy_site);
  clpy_dirname(prefix); /* lib/pythonX.Y */
  clpy_dirname(prefix); /* lib */
  clpy_dirname(prefix); /* <venv> */
  snprintf(probe, sizeof probe, "%s/pyvenv.cfg", prefix);
  if (!clpy_is_file(probe)) return;
  const char *names[] = {"python3", "python"};
  for (int i = 0; i < 2; ++i) {
    snprintf(probe, sizeof probe, "%s/bin/%s", prefix, names[i]);
    if (clpy_is_file(probe)) {
      snprintf(exe, n, "%s", probe);
      return;
    }
  }
}

static int clpy_start_interpreter(void) {
  PyStatus status;
  PyConfig config;
  char exe[PATH_MAX];
  const char *home = getenv("CLIMLEARN_PYTHON_HOME");
  if (home == NULL || home[0] == '\0') home = CL_PY_HOME;

  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0; /* the host model owns its signals */
  config.buffered_stdio = 0;          /* Python's prints interleave with the host's */
  config.parse_argv = 0;
  config.user_site_directory = 0;     /* the package's environment, not ~/.local */
  status = PyConfig_SetBytesString(&config, &config.home, home);
  if (PyStatus_Exception(status)) goto fail;
  clpy_find_venv_python(exe, sizeof exe);
  if (exe[0] != '\0') {
    /* sys.executable and sys.prefix become the virtualenv's, as in `venv/bin/python` */
    status = PyConfig_SetBytesString(&config, &config.program_name, exe);
    if (PyStatus_Exception(status)) goto fail;
    status = PyConfig_SetBytesString(&config, &config.executable, exe);
    if (PyStatus_Exception(status)) goto fail;
  }
  status = Py_InitializeFromConfig(&config);
  if (PyStatus_Exception(status)) goto fail;
  PyConfig_Clear(&config);
  PyEval_SaveThread(); /* release the GIL: every call takes it through cffi */
  return CLPY_OK;

fail:
  PyConfig_Clear(&config);
  snprintf(clpy_error, sizeof clpy_error,
           "cannot start the embedded Python (home %s): %s%s%s", home,
           status.func ? status.func : "", status.func ? ": " : "",
           status.err_msg ? status.err_msg : "unknown error");
  return CLPY_ERR_RUNTIME;
}

/* ---- the C API ---------------------------------------------------------------------- */

CFFI_DLLEXPORT int cl_py_init(const char *extra_path) {
  int done = 0, status;
  if (clpy_state == CLPY_READY) return CLPY_OK;
  if (clpy_state == CLPY_FINALIZED)
    return clpy_fail(CLPY_ERR_STATE,
                     "cl_py_init: the embedded Python was finalized by cl_py_finalize and "
                     "cannot be started again in this process");
  if (extra_path != NULL && strlen(extra_path) >= sizeof clpy_extra)
    return clpy_fail(CLPY_ERR_ARGUMENT, "cl_py_init: the extra path is too long");
  snprintf(clpy_extra, sizeof clpy_extra, "%s", extra_path ? extra_path : "");
  if (clpy_find_site() != 0)
    return clpy_fail(CLPY_ERR_RUNTIME,
                     "cl_py_init: cannot locate libclimlearn_python.so on disk (dladdr)");
  clpy_error[0] = '\0';
  if (!Py_IsInitialized()) {
    status = clpy_start_interpreter();
    if (status != CLPY_OK) return status;
    clpy_owns_interpreter = 1;
  }
  /* First call into Python: cffi runs the init code (imports climlearn.pyembed). */
  status = clpy_impl_start(&done);
  if (!done)
    return clpy_fail(CLPY_ERR_RUNTIME,
                     "cl_py_init: the embedded Python did not run climlearn's start-up code "
                     "(cffi printed the reason on standard error)");
  if (status == CLPY_OK) clpy_state = CLPY_READY;
  return status;
}

CFFI_DLLEXPORT int cl_py_is_initialized(void) { return clpy_state == CLPY_READY; }

CFFI_DLLEXPORT int cl_py_call(const char *target, int n_inputs, const cl_py_array *inputs,
                              int n_outputs, const cl_py_array *outputs) {
  if (clpy_state != CLPY_READY)
    return clpy_fail(CLPY_ERR_STATE,
                     clpy_state == CLPY_NEW
                         ? "cl_py_call: Python is not initialized (call cl_py_init first and "
                           "check its status)"
                         : "cl_py_call: Python was finalized by cl_py_finalize");
  if (target == NULL) return clpy_fail(CLPY_ERR_ARGUMENT, "cl_py_call: target is NULL");
  if (n_inputs < 0 || n_outputs < 0 || (n_inputs > 0 && inputs == NULL) ||
      (n_outputs > 0 && outputs == NULL))
    return clpy_fail(CLPY_ERR_ARGUMENT,
                     "cl_py_call: negative count or NULL array of descriptors");
  clpy_error[0] = '\0';
  return clpy_impl_call(target, n_inputs, (cl_py_array *)inputs, n_outputs,
                        (cl_py_array *)outputs);
}

CFFI_DLLEXPORT int cl_py_finalize(void) {
  int status = CLPY_OK;
  if (clpy_state != CLPY_READY) return CLPY_OK;
  status = clpy_impl_finalize();
  clpy_state = CLPY_FINALIZED;
  if (clpy_owns_interpreter) {
    PyGILState_Ensure(); /* Py_FinalizeEx must run with the GIL held */
    if (Py_FinalizeEx() < 0 && status == CLPY_OK)
      status = clpy_fail(CLPY_ERR_RUNTIME,
                         "cl_py_finalize: flushing Python's buffered output failed");
  }
  return status;
}

CFFI_DLLEXPORT const char *cl_py_last_error(void) { return clpy_error; }
