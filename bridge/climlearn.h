/*
 * climlearn.h -- C API for running exported climlearn models (TorchScript archives and
 * AOTInductor packages) from C and Fortran.
 *
 * This header is the ABI of libclimlearn. It contains no torch types: a model is an
 * opaque handle, arrays are described by cl_array (pointer, dtype, rank, shape).
 *
 * Conventions
 * -----------
 * - Every function returns an int status: CL_OK (0) on success, a CL_ERR_* code otherwise.
 *   After a failure, cl_last_error() returns a message (thread-local) naming the problem and
 *   the expected and given values. No function calls exit(), aborts, or writes to stdout.
 * - Shapes are given in FORTRAN (column-major) order. A Fortran array x(nfeat, ncol) is
 *   described as rank 2, shape {nfeat, ncol}; the model sees the row-major tensor
 *   (ncol, nfeat): dimensions are reversed, memory is not touched, nothing is transposed.
 *   The LAST Fortran dimension is the batch (columns).
 * - Inputs are never copied on the CPU; outputs are written into caller-owned memory.
 * - Indices of inputs and outputs are 0-based in C (the Fortran module uses 1-based).
 * - Strings returned through (buf, buflen) are NUL-terminated and truncated to fit; the
 *   optional `needed` receives the full length (without NUL) so the caller can retry.
 */
#ifndef CLIMLEARN_H
#define CLIMLEARN_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  define CL_API __declspec(dllexport)
#elif defined(__GNUC__)
#  define CL_API __attribute__((visibility("default")))
#else
#  define CL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Maximum rank of an array crossing the API. */
#define CL_MAX_RANK 8

/** Status codes. */
enum cl_status {
  CL_OK = 0,            /**< success */
  CL_ERR_ARGUMENT = 1,  /**< invalid argument (null pointer, bad index, bad count) */
  CL_ERR_IO = 2,        /**< file missing or unreadable */
  CL_ERR_FORMAT = 3,    /**< file is not a loadable model, or its metadata is corrupt */
  CL_ERR_DEVICE = 4,    /**< device string invalid or device not available */
  CL_ERR_SHAPE = 5,     /**< wrong number of inputs/outputs, wrong rank or shape */
  CL_ERR_DTYPE = 6,     /**< wrong dtype */
  CL_ERR_NONFINITE = 7, /**< NaN or Inf in an input (only when the check is switched on) */
  CL_ERR_RUNTIME = 8,   /**< the model raised an error while running */
  CL_ERR_STATE = 9      /**< handle not loaded (e.g. load failed) or already freed */
};

/** Element types. */
enum cl_dtype {
  CL_FLOAT32 = 1,
  CL_FLOAT64 = 2
};

/**
 * Description of one array crossing the API (interoperable with a Fortran bind(c) type).
 * shape[0..rank-1] is in Fortran order (first index fastest); entries past rank are ignored.
 */
typedef struct cl_array {
  void *data;                    /**< first element; contiguous, column-major */
  int32_t dtype;                 /**< enum cl_dtype */
  int32_t rank;                  /**< 0 .. CL_MAX_RANK */
  int64_t shape[CL_MAX_RANK];    /**< extents, Fortran order */
} cl_array;

/** Opaque model handle. */
typedef struct cl_model cl_model;

/* ---- library ------------------------------------------------------------------------- */

/** Version string of the library ("MAJOR.MINOR.PATCH"); never NULL. */
CL_API const char *cl_version(void);

/** Last error message of the calling thread ("" if none); never NULL. Valid until the next
 *  API call on this thread. */
CL_API const char *cl_last_error(void);

/** Copy the last error message of the calling thread into buf (see string convention). */
CL_API int cl_last_error_copy(char *buf, size_t buflen, size_t *needed);

/** Set the number of intra-op threads used by inference (process-wide, n >= 1).
 *  The default is 1 (one thread per MPI rank), or CLIMLEARN_NUM_THREADS if set. */
CL_API int cl_set_num_threads(int n);

/** Current number of intra-op threads. */
CL_API int cl_get_num_threads(int *n);

/* ---- model lifetime ------------------------------------------------------------------ */

/**
 * Load a model file. `device` is "cpu", "cuda" or "cuda:N" (NULL or "" means "cpu").
 * On failure *model is set to NULL. The file format is detected from the file content.
 * Same as cl_model_load_backend with backend "auto".
 */
CL_API int cl_model_load(const char *path, const char *device, cl_model **model);

/** Free a model; NULL is accepted and ignored. */
CL_API int cl_model_free(cl_model *model);

/** Switch the NaN/Inf check of inputs on (nonzero) or off (0, the default). On failure the
 *  message gives the count of non-finite values and the Fortran index of the first one. */
CL_API int cl_model_set_check_finite(cl_model *model, int on);

/* ---- inference ----------------------------------------------------------------------- */

/**
 * Run the model: n_inputs arrays in, n_outputs arrays out (caller-allocated).
 * Number, rank, shape (all but the batch dimension) and dtype are checked against the
 * model's metadata when it has any; output shapes are checked against what the model
 * returned. Runs in inference mode (no autograd bookkeeping).
 * All checks that do not need the model's result run before it; no output is written
 * unless the call succeeds. `data` may be NULL only for an array with zero elements.
 * Inputs are wrapped, not copied: a model that modifies an input in place modifies the
 * caller's array.
 */
CL_API int cl_model_forward(cl_model *model,
                            int n_inputs, const cl_array *inputs,
                            int n_outputs, cl_array *outputs);

/* ---- metadata ------------------------------------------------------------------------ */

/** Number of inputs / outputs declared in the metadata (-1 if the file has no metadata).
 *  The other metadata getters fail with CL_ERR_ARGUMENT on a model without metadata. */
CL_API int cl_model_num_inputs(const cl_model *model, int *n);
CL_API int cl_model_num_outputs(const cl_model *model, int *n);

/** Name and units of input / output i (0-based). */
CL_API int cl_model_input_name(const cl_model *model, int i, char *buf, size_t buflen, size_t *needed);
CL_API int cl_model_output_name(const cl_model *model, int i, char *buf, size_t buflen, size_t *needed);
CL_API int cl_model_input_units(const cl_model *model, int i, char *buf, size_t buflen, size_t *needed);
CL_API int cl_model_output_units(const cl_model *model, int i, char *buf, size_t buflen, size_t *needed);

/**
 * Shape of input / output i in FORTRAN order (as a Fortran caller declares the array).
 * The batch dimension is reported as -1. `maxrank` is the capacity of `shape`.
 * With shape NULL and maxrank 0 only *rank is set (a query); if maxrank is too small,
 * *rank is set and CL_ERR_ARGUMENT is returned.
 */
CL_API int cl_model_input_shape(const cl_model *model, int i, int *rank, int64_t *shape, int maxrank);
CL_API int cl_model_output_shape(const cl_model *model, int i, int *rank, int64_t *shape, int maxrank);

/** dtype (enum cl_dtype) of input / output i. */
CL_API int cl_model_input_dtype(const cl_model *model, int i, int *dtype);
CL_API int cl_model_output_dtype(const cl_model *model, int i, int *dtype);

/** The whole model card (climlearn/meta.json) as a JSON string ("{}" if none). */
CL_API int cl_model_card(const cl_model *model, char *buf, size_t buflen, size_t *needed);

/** Device the model runs on, e.g. "cpu" or "cuda:0". */
CL_API int cl_model_device(const cl_model *model, char *buf, size_t buflen, size_t *needed);

/* ---- backends ------------------------------------------------------------------------ */

/**
 * Load a model file choosing how it runs. `backend` is one of
 *   NULL, "" or "auto": the native kernel when the model qualifies and the device is the
 *                       CPU, else the file's own format: TorchScript for a TorchScript
 *                       archive, AOTInductor for a .pt2 package (what cl_model_load does);
 *   "torchscript":      the TorchScript interpreter (libtorch); TorchScript archives only;
 *   "aot":              the compiled code of an AOTInductor package (.pt2, written by
 *                       climlearn.export.to_aot, run by libtorch's AOTIModelPackageLoader);
 *                       .pt2 packages only. The package carries the same model card; its
 *                       code is compiled for one CPU architecture and vector instruction
 *                       set (checked at load) and for a range of batch sizes (checked at
 *                       each call, CL_ERR_SHAPE outside it);
 *   "native":           the native kernel, a hand-written CPU implementation of MLP-shaped
 *                       models (a chain of linear layers and elementwise activations, one
 *                       (features, ncol) input and output, with the built-in normalisation);
 *                       the model card must carry a "native" description, as climlearn's
 *                       TorchScript exporter writes for such models (not for .pt2
 *                       packages: AOTInductor folds the weights into compiled code).
 * Errors: an unknown name gives CL_ERR_ARGUMENT listing the valid names; "native" for a model
 * that does not qualify gives CL_ERR_FORMAT saying why, and on a CUDA device CL_ERR_DEVICE;
 * "aot" for a TorchScript archive or "torchscript" for a .pt2 package give CL_ERR_FORMAT; a
 * package compiled for another machine, truncated, or without a climlearn model card gives
 * CL_ERR_FORMAT naming the problem.
 * Every backend applies the same argument checks in cl_model_forward. The native kernel keeps
 * two work buffers per calling thread (grown to the largest batch seen), so it may be called
 * from several threads at once and allocates no array memory per call once warmed up.
 */
CL_API int cl_model_load_backend(const char *path, const char *device, const char *backend,
                                 cl_model **model);

/** Backend that runs the model: "native", "aot" or "torchscript". */
CL_API int cl_model_backend(const cl_model *model, char *buf, size_t buflen, size_t *needed);

#ifdef __cplusplus
}
#endif

#endif /* CLIMLEARN_H */
