!> Low-level binding of the climlearn C API (bridge/climlearn.h).
!>
!> One `bind(c)` interface per C function, the status and dtype constants, and the
!> interoperable array descriptor `cl_array`. Everything here mirrors the header one to
!> one: indices are 0-based, strings are C strings, and nothing is checked. Host models
!> should `use climlearn` (the high-level, 1-based, error-checked API) instead; this
!> module is public for code that needs the raw C calls.
!>
!> The Fortran names of the C functions carry a `cl_c_` prefix (`cl_c_model_load` binds
!> `cl_model_load`), so that they never clash with the high-level names.
module climlearn_c
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_int, c_int32_t, c_int64_t, &
                                         c_char, c_size_t
  implicit none
  private

  ! ---- limits -------------------------------------------------------------------------

  !> Maximum rank of an array crossing the API (`CL_MAX_RANK` in climlearn.h).
  integer, parameter, public :: CL_MAX_RANK = 8

  ! ---- status codes (enum cl_status) ---------------------------------------------------

  !> Success.
  integer(c_int), parameter, public :: CL_OK = 0
  !> Invalid argument (null pointer, bad index, bad count).
  integer(c_int), parameter, public :: CL_ERR_ARGUMENT = 1
  !> File missing or unreadable.
  integer(c_int), parameter, public :: CL_ERR_IO = 2
  !> File is not a loadable model, or its metadata is corrupt.
  integer(c_int), parameter, public :: CL_ERR_FORMAT = 3
  !> Device string invalid or device not available.
  integer(c_int), parameter, public :: CL_ERR_DEVICE = 4
  !> Wrong number of inputs/outputs, wrong rank or shape.
  integer(c_int), parameter, public :: CL_ERR_SHAPE = 5
  !> Wrong dtype.
  integer(c_int), parameter, public :: CL_ERR_DTYPE = 6
  !> NaN or Inf in an input (only when the finite check is switched on).
  integer(c_int), parameter, public :: CL_ERR_NONFINITE = 7
  !> The model raised an error while running.
  integer(c_int), parameter, public :: CL_ERR_RUNTIME = 8
  !> Handle not loaded (e.g. the load failed) or already freed.
  integer(c_int), parameter, public :: CL_ERR_STATE = 9

  ! ---- element types (enum cl_dtype) ---------------------------------------------------

  !> Element type code of `real(real32)` / C `float`.
  integer(c_int32_t), parameter, public :: CL_FLOAT32 = 1
  !> Element type code of `real(real64)` / C `double`.
  integer(c_int32_t), parameter, public :: CL_FLOAT64 = 2

  !> Description of one array crossing the API (C `struct cl_array`).
  !>
  !> `data` points at the first element of a contiguous, column-major array; `shape(1:rank)`
  !> holds its extents in Fortran order (first index fastest); entries past `rank` are
  !> ignored. The descriptor does not own the memory it points at.
  type, bind(c), public :: cl_array
    !> First element of the array (`c_loc` of a contiguous array), or C NULL.
    type(c_ptr) :: data = c_null_ptr
    !> Element type: `CL_FLOAT32` or `CL_FLOAT64` (0 when not set).
    integer(c_int32_t) :: dtype = 0
    !> Number of dimensions, 0 .. `CL_MAX_RANK`.
    integer(c_int32_t) :: rank = 0
    !> Extents in Fortran order; only `shape(1:rank)` is meaningful.
    integer(c_int64_t) :: shape(CL_MAX_RANK) = 0
  end type cl_array

  ! ---- interfaces of the C functions ---------------------------------------------------

  public :: cl_c_version, cl_c_last_error, cl_c_last_error_copy
  public :: cl_c_set_num_threads, cl_c_get_num_threads
  public :: cl_c_model_load, cl_c_model_free, cl_c_model_set_check_finite
  public :: cl_c_model_forward
  public :: cl_c_model_num_inputs, cl_c_model_num_outputs
  public :: cl_c_model_input_name, cl_c_model_output_name
  public :: cl_c_model_input_units, cl_c_model_output_units
  public :: cl_c_model_input_shape, cl_c_model_output_shape
  public :: cl_c_model_input_dtype, cl_c_model_output_dtype
  public :: cl_c_model_card, cl_c_model_device
  public :: cl_c_model_load_backend, cl_c_model_backend
  public :: cl_c_strlen
  public :: cl_c_string_fn, cl_c_indexed_string_fn

  abstract interface
    !> Shape of the C string getters without an index:
    !> `int f(const cl_model *model, char *buf, size_t buflen, size_t *needed)`.
    function cl_c_string_fn(model, buf, buflen, needed) bind(c) result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: model
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_string_fn

    !> Shape of the C string getters with a 0-based index:
    !> `int f(const cl_model *model, int i, char *buf, size_t buflen, size_t *needed)`.
    function cl_c_indexed_string_fn(model, i, buf, buflen, needed) bind(c) result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: i
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_indexed_string_fn
  end interface

  interface
    !> `size_t strlen(const char *s)` from the C library.
    function cl_c_strlen(s) bind(c, name="strlen") result(n)
      import :: c_ptr, c_size_t
      type(c_ptr), value, intent(in) :: s
      integer(c_size_t) :: n
    end function cl_c_strlen

    !> `const char *cl_version(void)`: version string ("MAJOR.MINOR.PATCH"), never NULL.
    function cl_c_version() bind(c, name="cl_version") result(s)
      import :: c_ptr
      type(c_ptr) :: s
    end function cl_c_version

    !> `const char *cl_last_error(void)`: last error of the calling thread, never NULL.
    function cl_c_last_error() bind(c, name="cl_last_error") result(s)
      import :: c_ptr
      type(c_ptr) :: s
    end function cl_c_last_error

    !> `int cl_last_error_copy(char *buf, size_t buflen, size_t *needed)`.
    function cl_c_last_error_copy(buf, buflen, needed) bind(c, name="cl_last_error_copy") &
        result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_last_error_copy

    !> `int cl_set_num_threads(int n)`.
    function cl_c_set_num_threads(n) bind(c, name="cl_set_num_threads") result(status)
      import :: c_int
      integer(c_int), value, intent(in) :: n
      integer(c_int) :: status
    end function cl_c_set_num_threads

    !> `int cl_get_num_threads(int *n)`.
    function cl_c_get_num_threads(n) bind(c, name="cl_get_num_threads") result(status)
      import :: c_int
      integer(c_int), intent(out) :: n
      integer(c_int) :: status
    end function cl_c_get_num_threads

    !> `int cl_model_load(const char *path, const char *device, cl_model **model)`.
    !> `path` and `device` must be NUL-terminated.
    function cl_c_model_load(path, device, model) bind(c, name="cl_model_load") result(status)
      import :: c_char, c_ptr, c_int
      character(kind=c_char), intent(in) :: path(*)
      character(kind=c_char), intent(in) :: device(*)
      type(c_ptr), intent(out) :: model
      integer(c_int) :: status
    end function cl_c_model_load

    !> `int cl_model_free(cl_model *model)`; NULL is accepted.
    function cl_c_model_free(model) bind(c, name="cl_model_free") result(status)
      import :: c_ptr, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int) :: status
    end function cl_c_model_free

    !> `int cl_model_set_check_finite(cl_model *model, int on)`.
    function cl_c_model_set_check_finite(model, on) bind(c, name="cl_model_set_check_finite") &
        result(status)
      import :: c_ptr, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: on
      integer(c_int) :: status
    end function cl_c_model_set_check_finite

    !> `int cl_model_forward(cl_model *model, int n_inputs, const cl_array *inputs,
    !> int n_outputs, cl_array *outputs)`.
    function cl_c_model_forward(model, n_inputs, inputs, n_outputs, outputs) &
        bind(c, name="cl_model_forward") result(status)
      import :: c_ptr, c_int, cl_array
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: n_inputs
      type(cl_array), intent(in) :: inputs(*)
      integer(c_int), value, intent(in) :: n_outputs
      type(cl_array), intent(inout) :: outputs(*)
      integer(c_int) :: status
    end function cl_c_model_forward

    !> `int cl_model_num_inputs(const cl_model *model, int *n)` (-1: no metadata).
    function cl_c_model_num_inputs(model, n) bind(c, name="cl_model_num_inputs") result(status)
      import :: c_ptr, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), intent(out) :: n
      integer(c_int) :: status
    end function cl_c_model_num_inputs

    !> `int cl_model_num_outputs(const cl_model *model, int *n)` (-1: no metadata).
    function cl_c_model_num_outputs(model, n) bind(c, name="cl_model_num_outputs") result(status)
      import :: c_ptr, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), intent(out) :: n
      integer(c_int) :: status
    end function cl_c_model_num_outputs

    !> `int cl_model_input_name(const cl_model *model, int i, char *buf, size_t buflen,
    !> size_t *needed)`.
    function cl_c_model_input_name(model, i, buf, buflen, needed) &
        bind(c, name="cl_model_input_name") result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: i
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_model_input_name

    !> `int cl_model_output_name(const cl_model *model, int i, char *buf, size_t buflen,
    !> size_t *needed)`.
    function cl_c_model_output_name(model, i, buf, buflen, needed) &
        bind(c, name="cl_model_output_name") result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: i
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_model_output_name

    !> `int cl_model_input_units(const cl_model *model, int i, char *buf, size_t buflen,
    !> size_t *needed)`.
    function cl_c_model_input_units(model, i, buf, buflen, needed) &
        bind(c, name="cl_model_input_units") result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: i
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_model_input_units

    !> `int cl_model_output_units(const cl_model *model, int i, char *buf, size_t buflen,
    !> size_t *needed)`.
    function cl_c_model_output_units(model, i, buf, buflen, needed) &
        bind(c, name="cl_model_output_units") result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: i
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_model_output_units

    !> `int cl_model_input_shape(const cl_model *model, int i, int *rank, int64_t *shape,
    !> int maxrank)`: Fortran order, -1 for the batch dimension.
    function cl_c_model_input_shape(model, i, rank, shape, maxrank) &
        bind(c, name="cl_model_input_shape") result(status)
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: i
      integer(c_int), intent(out) :: rank
      integer(c_int64_t), intent(out) :: shape(*)
      integer(c_int), value, intent(in) :: maxrank
      integer(c_int) :: status
    end function cl_c_model_input_shape

    !> `int cl_model_output_shape(const cl_model *model, int i, int *rank, int64_t *shape,
    !> int maxrank)`: Fortran order, -1 for the batch dimension.
    function cl_c_model_output_shape(model, i, rank, shape, maxrank) &
        bind(c, name="cl_model_output_shape") result(status)
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: i
      integer(c_int), intent(out) :: rank
      integer(c_int64_t), intent(out) :: shape(*)
      integer(c_int), value, intent(in) :: maxrank
      integer(c_int) :: status
    end function cl_c_model_output_shape

    !> `int cl_model_input_dtype(const cl_model *model, int i, int *dtype)`.
    function cl_c_model_input_dtype(model, i, dtype) bind(c, name="cl_model_input_dtype") &
        result(status)
      import :: c_ptr, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: i
      integer(c_int), intent(out) :: dtype
      integer(c_int) :: status
    end function cl_c_model_input_dtype

    !> `int cl_model_output_dtype(const cl_model *model, int i, int *dtype)`.
    function cl_c_model_output_dtype(model, i, dtype) bind(c, name="cl_model_output_dtype") &
        result(status)
      import :: c_ptr, c_int
      type(c_ptr), value, intent(in) :: model
      integer(c_int), value, intent(in) :: i
      integer(c_int), intent(out) :: dtype
      integer(c_int) :: status
    end function cl_c_model_output_dtype

    !> `int cl_model_card(const cl_model *model, char *buf, size_t buflen, size_t *needed)`.
    function cl_c_model_card(model, buf, buflen, needed) bind(c, name="cl_model_card") &
        result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: model
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_model_card

    !> `int cl_model_device(const cl_model *model, char *buf, size_t buflen, size_t *needed)`.
    function cl_c_model_device(model, buf, buflen, needed) bind(c, name="cl_model_device") &
        result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: model
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_model_device

    !> `int cl_model_load_backend(const char *path, const char *device, const char *backend,
    !> cl_model **model)`. All strings must be NUL-terminated.
    function cl_c_model_load_backend(path, device, backend, model) &
        bind(c, name="cl_model_load_backend") result(status)
      import :: c_char, c_ptr, c_int
      character(kind=c_char), intent(in) :: path(*)
      character(kind=c_char), intent(in) :: device(*)
      character(kind=c_char), intent(in) :: backend(*)
      type(c_ptr), intent(out) :: model
      integer(c_int) :: status
    end function cl_c_model_load_backend

    !> `int cl_model_backend(const cl_model *model, char *buf, size_t buflen, size_t *needed)`.
    function cl_c_model_backend(model, buf, buflen, needed) bind(c, name="cl_model_backend") &
        result(status)
      import :: c_ptr, c_size_t, c_int
      type(c_ptr), value, intent(in) :: model
      type(c_ptr), value, intent(in) :: buf
      integer(c_size_t), value, intent(in) :: buflen
      integer(c_size_t), intent(out) :: needed
      integer(c_int) :: status
    end function cl_c_model_backend
  end interface

end module climlearn_c
