!> High-level Fortran API of climlearn: load an exported model once, call it every time step.
!>
!> Use it through the umbrella module (`use climlearn`), whose documentation states the
!> array layout rule (last Fortran dimension = batch; nothing transposed, nothing copied)
!> and the error convention (optional `stat`/`errmsg`, as `allocate`).
!>
!> Indices of inputs and outputs are 1-based here (the C API is 0-based).
module climlearn_model
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_associated, c_loc, c_f_pointer, &
                                         c_int, c_int32_t, c_int64_t, c_char, c_null_char, &
                                         c_size_t
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64
  use climlearn_c, only: CL_MAX_RANK, CL_OK, CL_ERR_ARGUMENT, CL_ERR_STATE, &
                         CL_FLOAT32, CL_FLOAT64, &
                         cl_c_version, cl_c_last_error, cl_c_strlen, &
                         cl_c_set_num_threads, cl_c_get_num_threads, &
                         cl_c_model_free, cl_c_model_set_check_finite, &
                         cl_c_model_forward, cl_c_model_num_inputs, cl_c_model_num_outputs, &
                         cl_c_model_input_name, cl_c_model_output_name, &
                         cl_c_model_input_units, cl_c_model_output_units, &
                         cl_c_model_input_shape, cl_c_model_output_shape, &
                         cl_c_model_input_dtype, cl_c_model_output_dtype, &
                         cl_c_model_card, cl_c_model_device, &
                         cl_c_model_load_backend, cl_c_model_backend, &
                         cl_c_string_fn, cl_c_indexed_string_fn, &
                         cl_tensor => cl_array
  implicit none
  private

  !> `cl_tensor`: descriptor of one array passed to or from a model. It is the interoperable
  !> C `cl_array` of module `climlearn_c` (components `data`, `dtype`, `rank`,
  !> `shape(CL_MAX_RANK)` in Fortran order), so an array of `cl_tensor` is handed to the C
  !> library as it is and the data are never copied. Fill it with `cl_tensor_wrap`. The
  !> descriptor does not own the memory: the wrapped array must have the TARGET (or POINTER)
  !> attribute in the caller and must outlive every use of the descriptor (do not
  !> deallocate or reallocate it in between).
  public :: cl_tensor
  public :: cl_model
  public :: cl_model_load, cl_model_free, cl_model_is_loaded, cl_model_move
  public :: cl_model_set_check_finite
  public :: cl_model_forward, cl_tensor_wrap
  public :: cl_model_num_inputs, cl_model_num_outputs
  public :: cl_model_input_name, cl_model_output_name
  public :: cl_model_input_units, cl_model_output_units
  public :: cl_model_input_shape, cl_model_output_shape
  public :: cl_model_input_dtype, cl_model_output_dtype
  public :: cl_model_card, cl_model_device, cl_model_backend
  public :: cl_set_num_threads, cl_get_num_threads
  public :: cl_version, cl_last_error

  !> A loaded model: owns one handle of the C library.
  !>
  !> The handle is freed by `cl_model_free`, by a new `cl_model_load` into the same variable,
  !> or automatically when the variable is finalized (a local variable going out of scope,
  !> an allocatable being deallocated).
  !>
  !> A loaded model cannot be copied: the assignment `a = b` stops the program with an
  !> error when `b` is loaded (two variables owning one handle would free it twice), except
  !> for the harmless self-assignment `a = a`. Assigning an unloaded model frees `a`.
  !> To hand a model to another variable use `cl_model_move(from, to)`; to get a second
  !> independent instance, load the file again. Pass models to procedures by reference
  !> (never with the VALUE attribute).
  type :: cl_model
    private
    type(c_ptr) :: handle = c_null_ptr
  contains
    procedure, private :: assign_model
    !> Assignment that never duplicates a handle (see the type's documentation).
    generic :: assignment(=) => assign_model
    final :: finalize_model
  end type cl_model

  !> Run a model: `call cl_model_forward(model, x, y [, stat] [, errmsg])` or
  !> `call cl_model_forward(model, inputs, outputs [, stat] [, errmsg])`.
  !>
  !> First form, one input and one output: `x` and `y` are both `real(real32)` or both
  !> `real(real64)`, each of rank 1 to 4 (any combination of ranks); `x` is
  !> `intent(in)`, `y` is `intent(inout)` and receives the output. Both must be contiguous
  !> (a non-contiguous actual argument, e.g. `x(:, 1:n:2)`, is copied in and out by the
  !> compiler: correct but not free).
  !>
  !> Second form, any number of inputs and outputs: `inputs(:)` and `outputs(:)` are
  !> `type(cl_tensor)` descriptors made by `cl_tensor_wrap`, in the order of the model's
  !> metadata; the outputs are written into the arrays the descriptors point at.
  !>
  !> The C library checks the number, dtype, rank and shape (all but the batch dimension)
  !> of every array against the model's metadata, and, when switched on, that inputs are
  !> finite.
  interface cl_model_forward
    module procedure forward_tensors
    module procedure forward_r32_11, forward_r32_12, forward_r32_13, forward_r32_14
    module procedure forward_r32_21, forward_r32_22, forward_r32_23, forward_r32_24
    module procedure forward_r32_31, forward_r32_32, forward_r32_33, forward_r32_34
    module procedure forward_r32_41, forward_r32_42, forward_r32_43, forward_r32_44
    module procedure forward_r64_11, forward_r64_12, forward_r64_13, forward_r64_14
    module procedure forward_r64_21, forward_r64_22, forward_r64_23, forward_r64_24
    module procedure forward_r64_31, forward_r64_32, forward_r64_33, forward_r64_34
    module procedure forward_r64_41, forward_r64_42, forward_r64_43, forward_r64_44
  end interface cl_model_forward

  !> Describe an array for `cl_model_forward`: `call cl_tensor_wrap(t, array [, stat] [, errmsg])`.
  !>
  !> `array` is `real(real32)` or `real(real64)`, rank 1 to 4, and must be contiguous
  !> (otherwise: error `CL_ERR_ARGUMENT`). The actual argument MUST have the TARGET (or
  !> POINTER) attribute in the caller: `t` keeps its address, and must not be used after
  !> the array is deallocated, reallocated or goes out of scope. Nothing is copied.
  interface cl_tensor_wrap
    module procedure wrap_r32_1, wrap_r32_2, wrap_r32_3, wrap_r32_4
    module procedure wrap_r64_1, wrap_r64_2, wrap_r64_3, wrap_r64_4
  end interface cl_tensor_wrap

  character(len=*), parameter :: MSG_NOT_CONTIGUOUS = &
    "array is not contiguous; pass a contiguous array or a copy"
  character(len=*), parameter :: MSG_NOT_LOADED = &
    "model is not loaded (call cl_model_load first and check its stat)"

  !> Selectors of the input or the output side in the shared metadata routines.
  integer, parameter :: SIDE_INPUT = 1, SIDE_OUTPUT = 2

contains

  ! ======================================================================================
  ! Error handling
  ! ======================================================================================

  !> Apply the error convention to `status` (with `message` when it is an error): set `stat`
  !> (and `errmsg` on error) when `stat` is present, otherwise stop on error.
  subroutine report(status, message, stat, errmsg)
    integer(c_int), intent(in) :: status
    character(len=*), intent(in) :: message
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    if (present(stat)) then
      stat = int(status)
      if (status /= CL_OK .and. present(errmsg)) errmsg = message
    else if (status /= CL_OK) then
      error stop "climlearn: " // message
    end if
  end subroutine report

  !> `report` for a status returned by the C library: the message is its last error.
  subroutine report_c(status, stat, errmsg)
    integer(c_int), intent(in) :: status
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    if (status == CL_OK) then
      call report(status, "", stat, errmsg)
    else
      call report(status, c_last_error_message(status), stat, errmsg)
    end if
  end subroutine report_c

  !> The C library's last error message, or a generic one when it is empty.
  function c_last_error_message(status) result(message)
    integer(c_int), intent(in) :: status
    character(len=:), allocatable :: message
    character(len=12) :: code
    message = from_c_pointer(cl_c_last_error())
    if (len(message) == 0) then
      write (code, "(i0)") status
      message = "the C library returned status " // trim(code) // " without a message"
    end if
  end function c_last_error_message

  !> True if `model` is loaded; otherwise reports `CL_ERR_STATE` and returns false.
  logical function require_loaded(model, stat, errmsg) result(ok)
    type(cl_model), intent(in) :: model
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    ok = c_associated(model%handle)
    if (.not. ok) call report(CL_ERR_STATE, MSG_NOT_LOADED, stat, errmsg)
  end function require_loaded

  ! ======================================================================================
  ! Strings
  ! ======================================================================================

  !> Copy of a NUL-terminated C string (`""` for a null pointer).
  function from_c_pointer(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: n, k
    if (.not. c_associated(p)) then
      s = ""
      return
    end if
    n = int(cl_c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate (character(len=n) :: s)
    do k = 1, n
      s(k:k) = chars(k)
    end do
  end function from_c_pointer

  !> NUL-terminated copy of `s` without its trailing blanks.
  pure function to_c_string(s) result(c)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s) + 1) :: c
    c = trim(s) // c_null_char
  end function to_c_string

  !> Fortran string from the first `n` characters of `buf` (stopping early at a NUL).
  pure function from_c_buffer(buf, n) result(s)
    character(kind=c_char), intent(in) :: buf(:)
    integer, intent(in) :: n
    character(len=:), allocatable :: s
    integer :: k, m
    m = min(n, size(buf))
    do k = 1, m
      if (buf(k) == c_null_char) then
        m = k - 1
        exit
      end if
    end do
    allocate (character(len=m) :: s)
    do k = 1, m
      s(k:k) = buf(k)
    end do
  end function from_c_buffer

  !> Fetch a string through a C getter without index, using the (buf, buflen, needed)
  !> convention: ask the length with a NULL buffer, then allocate and copy.
  subroutine fetch_string(getter, handle, s, status)
    procedure(cl_c_string_fn) :: getter
    type(c_ptr), intent(in) :: handle
    character(len=:), allocatable, intent(out) :: s
    integer(c_int), intent(out) :: status
    character(kind=c_char), allocatable, target :: buf(:)
    integer(c_size_t) :: needed
    integer :: attempt
    s = ""
    needed = 0
    status = getter(handle, c_null_ptr, 0_c_size_t, needed)
    do attempt = 1, 3
      if (status /= CL_OK) return
      if (allocated(buf)) deallocate (buf)
      allocate (buf(needed + 1))
      status = getter(handle, c_loc(buf), size(buf, kind=c_size_t), needed)
      if (status == CL_OK .and. needed < size(buf, kind=c_size_t)) exit
    end do
    if (status == CL_OK) s = from_c_buffer(buf, int(needed))
  end subroutine fetch_string

  !> `fetch_string` for a C getter with a 0-based index `i`.
  subroutine fetch_indexed_string(getter, handle, i, s, status)
    procedure(cl_c_indexed_string_fn) :: getter
    type(c_ptr), intent(in) :: handle
    integer(c_int), intent(in) :: i
    character(len=:), allocatable, intent(out) :: s
    integer(c_int), intent(out) :: status
    character(kind=c_char), allocatable, target :: buf(:)
    integer(c_size_t) :: needed
    integer :: attempt
    s = ""
    needed = 0
    status = getter(handle, i, c_null_ptr, 0_c_size_t, needed)
    do attempt = 1, 3
      if (status /= CL_OK) return
      if (allocated(buf)) deallocate (buf)
      allocate (buf(needed + 1))
      status = getter(handle, i, c_loc(buf), size(buf, kind=c_size_t), needed)
      if (status == CL_OK .and. needed < size(buf, kind=c_size_t)) exit
    end do
    if (status == CL_OK) s = from_c_buffer(buf, int(needed))
  end subroutine fetch_indexed_string

  ! ======================================================================================
  ! Library
  ! ======================================================================================

  !> Version of the C library, "MAJOR.MINOR.PATCH".
  function cl_version() result(version)
    character(len=:), allocatable :: version
    version = from_c_pointer(cl_c_version())
  end function cl_version

  !> Last error message of the C library on the calling thread ("" if none).
  !>
  !> Errors detected by the Fortran layer itself (model not loaded, index out of range,
  !> array not contiguous) do not reach the C library: get their message through `errmsg`.
  function cl_last_error() result(message)
    character(len=:), allocatable :: message
    message = from_c_pointer(cl_c_last_error())
  end function cl_last_error

  !> Set the number of intra-op threads used for inference (process-wide, `n >= 1`).
  !> The default is 1 (one thread per MPI rank), or `CLIMLEARN_NUM_THREADS` if set.
  subroutine cl_set_num_threads(n, stat, errmsg)
    !> Number of threads, at least 1.
    integer, intent(in) :: n
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    call report_c(cl_c_set_num_threads(int(n, c_int)), stat, errmsg)
  end subroutine cl_set_num_threads

  !> Current number of intra-op threads used for inference (-1 on error).
  integer function cl_get_num_threads(stat, errmsg) result(n)
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    integer(c_int) :: cn, status
    cn = -1
    status = cl_c_get_num_threads(cn)
    n = -1
    if (status == CL_OK) n = int(cn)
    call report_c(status, stat, errmsg)
  end function cl_get_num_threads

  ! ======================================================================================
  ! Model lifetime
  ! ======================================================================================

  !> Load a model file (format detected from the content; normally a TorchScript file
  !> written by `climlearn export`). A model that is already loaded is freed first, so
  !> a variable can be reloaded; if the new load fails, the model is left unloaded.
  !> Load once, outside the time loop.
  !>
  !> `backend` chooses how the model runs: "auto" (the default: the native kernel when the
  !> model is MLP-shaped and runs on the CPU, else the file's own format), "torchscript"
  !> (TorchScript archives), "aot" (AOTInductor packages, .pt2, written by
  !> `climlearn.export.to_aot`) or "native" (an error, `CL_ERR_FORMAT`, for a model that
  !> does not qualify). `cl_model_backend` tells which one was chosen.
  subroutine cl_model_load(model, path, device, stat, errmsg, check_finite, backend)
    !> The model variable that receives the handle.
    type(cl_model), intent(inout) :: model
    !> Path of the model file (trailing blanks are ignored).
    character(len=*), intent(in) :: path
    !> "cpu" (the default), "cuda" or "cuda:N".
    character(len=*), intent(in), optional :: device
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    !> If true, every forward checks that the inputs are finite (no NaN/Inf);
    !> default false. See also `cl_model_set_check_finite`.
    logical, intent(in), optional :: check_finite
    !> "auto" (the default), "torchscript" or "native".
    character(len=*), intent(in), optional :: backend
    type(c_ptr) :: handle
    integer(c_int) :: status
    character(len=:), allocatable :: dev, be

    call cl_model_free(model)
    handle = c_null_ptr
    dev = "cpu"
    if (present(device)) dev = device
    be = "auto"
    if (present(backend)) be = backend
    status = cl_c_model_load_backend(to_c_string(path), to_c_string(dev), to_c_string(be), handle)
    if (status /= CL_OK) then
      call report_c(status, stat, errmsg)
      return
    end if
    model%handle = handle
    if (present(check_finite)) then
      status = cl_c_model_set_check_finite(model%handle, merge(1_c_int, 0_c_int, check_finite))
      if (status /= CL_OK) then
        call report_c(status, stat, errmsg)
        call cl_model_free(model)
        return
      end if
    end if
    if (present(stat)) stat = CL_OK
  end subroutine cl_model_load

  !> Free the model's handle; the model is then unloaded. Freeing an unloaded model
  !> does nothing.
  subroutine cl_model_free(model)
    !> The model to free.
    type(cl_model), intent(inout) :: model
    integer(c_int) :: status
    if (c_associated(model%handle)) then
      status = cl_c_model_free(model%handle)
      model%handle = c_null_ptr
    end if
  end subroutine cl_model_free

  !> True if `model` holds a loaded model.
  logical function cl_model_is_loaded(model)
    !> The model to query.
    type(cl_model), intent(in) :: model
    cl_model_is_loaded = c_associated(model%handle)
  end function cl_model_is_loaded

  !> Transfer the model in `from` to `to` (like `move_alloc`): `to` is freed first if
  !> loaded, then owns the handle, and `from` is left unloaded. Nothing is copied.
  subroutine cl_model_move(from, to)
    !> The model to give away; unloaded on return.
    type(cl_model), intent(inout) :: from
    !> The model that receives it.
    type(cl_model), intent(inout) :: to
    type(c_ptr) :: handle
    if (c_associated(from%handle) .and. c_associated(to%handle, from%handle)) return
    handle = from%handle
    from%handle = c_null_ptr
    call cl_model_free(to)
    to%handle = handle
  end subroutine cl_model_move

  !> Switch the NaN/Inf check of the inputs on or off (off by default).
  subroutine cl_model_set_check_finite(model, on, stat, errmsg)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> True to check every input of every forward.
    logical, intent(in) :: on
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    if (.not. require_loaded(model, stat, errmsg)) return
    call report_c(cl_c_model_set_check_finite(model%handle, merge(1_c_int, 0_c_int, on)), &
                  stat, errmsg)
  end subroutine cl_model_set_check_finite

  !> Defined assignment `lhs = rhs` (see `cl_model`): never duplicates a handle.
  impure elemental subroutine assign_model(lhs, rhs)
    class(cl_model), intent(inout) :: lhs
    class(cl_model), intent(in) :: rhs
    if (.not. c_associated(rhs%handle)) then
      call cl_model_free(lhs)
    else if (.not. c_associated(lhs%handle, rhs%handle)) then
      error stop "climlearn: a loaded cl_model cannot be copied (both copies would own " // &
        "the same handle); use cl_model_move(from, to) to transfer it, or cl_model_load " // &
        "the file again for a second instance"
    end if
  end subroutine assign_model

  !> Finalizer: free the handle when a model variable ceases to exist.
  impure elemental subroutine finalize_model(model)
    type(cl_model), intent(inout) :: model
    call cl_model_free(model)
  end subroutine finalize_model

  ! ======================================================================================
  ! Inference
  ! ======================================================================================

  !> Fill a descriptor.
  pure function describe(data, dtype, extents) result(t)
    type(c_ptr), intent(in) :: data
    integer(c_int32_t), intent(in) :: dtype
    integer(c_int64_t), intent(in) :: extents(:)
    type(cl_tensor) :: t
    t%data = data
    t%dtype = dtype
    t%rank = int(size(extents), c_int32_t)
    t%shape = 0
    t%shape(1:size(extents)) = extents
  end function describe

  !> `cl_model_forward` with descriptors: the common path of every specific.
  subroutine forward_tensors(model, inputs, outputs, stat, errmsg)
    type(cl_model), intent(in) :: model
    type(cl_tensor), intent(in) :: inputs(:)
    type(cl_tensor), intent(inout) :: outputs(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    if (.not. require_loaded(model, stat, errmsg)) return
    call report_c(cl_c_model_forward(model%handle, int(size(inputs), c_int), inputs, &
                                     int(size(outputs), c_int), outputs), stat, errmsg)
  end subroutine forward_tensors

  !> One input, one output: build the two descriptors and run.
  subroutine forward_pair(model, dtype, px, xshape, py, yshape, stat, errmsg)
    type(cl_model), intent(in) :: model
    integer(c_int32_t), intent(in) :: dtype
    type(c_ptr), intent(in) :: px, py
    integer(c_int64_t), intent(in) :: xshape(:), yshape(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(cl_tensor) :: inputs(1), outputs(1)
    inputs(1) = describe(px, dtype, xshape)
    outputs(1) = describe(py, dtype, yshape)
    call forward_tensors(model, inputs, outputs, stat, errmsg)
  end subroutine forward_pair

  ! --------------------------------------------------------------------------------------
  ! Specifics of cl_model_forward (one per kind and pair of ranks) and cl_tensor_wrap (one
  ! per kind and rank). They were generated and are identical apart from their
  ! declarations: to support another rank, copy a block and add it to the generic.
  ! --------------------------------------------------------------------------------------

  !> `cl_model_forward` with real(real32) x of rank 1 and y of rank 1.
  subroutine forward_r32_11(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:)
    real(real32), intent(inout), target, contiguous :: y(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_11

  !> `cl_model_forward` with real(real32) x of rank 1 and y of rank 2.
  subroutine forward_r32_12(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:)
    real(real32), intent(inout), target, contiguous :: y(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_12

  !> `cl_model_forward` with real(real32) x of rank 1 and y of rank 3.
  subroutine forward_r32_13(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:)
    real(real32), intent(inout), target, contiguous :: y(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_13

  !> `cl_model_forward` with real(real32) x of rank 1 and y of rank 4.
  subroutine forward_r32_14(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:)
    real(real32), intent(inout), target, contiguous :: y(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_14

  !> `cl_model_forward` with real(real32) x of rank 2 and y of rank 1.
  subroutine forward_r32_21(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:)
    real(real32), intent(inout), target, contiguous :: y(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_21

  !> `cl_model_forward` with real(real32) x of rank 2 and y of rank 2.
  subroutine forward_r32_22(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:)
    real(real32), intent(inout), target, contiguous :: y(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_22

  !> `cl_model_forward` with real(real32) x of rank 2 and y of rank 3.
  subroutine forward_r32_23(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:)
    real(real32), intent(inout), target, contiguous :: y(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_23

  !> `cl_model_forward` with real(real32) x of rank 2 and y of rank 4.
  subroutine forward_r32_24(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:)
    real(real32), intent(inout), target, contiguous :: y(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_24

  !> `cl_model_forward` with real(real32) x of rank 3 and y of rank 1.
  subroutine forward_r32_31(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:,:)
    real(real32), intent(inout), target, contiguous :: y(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_31

  !> `cl_model_forward` with real(real32) x of rank 3 and y of rank 2.
  subroutine forward_r32_32(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:,:)
    real(real32), intent(inout), target, contiguous :: y(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_32

  !> `cl_model_forward` with real(real32) x of rank 3 and y of rank 3.
  subroutine forward_r32_33(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:,:)
    real(real32), intent(inout), target, contiguous :: y(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_33

  !> `cl_model_forward` with real(real32) x of rank 3 and y of rank 4.
  subroutine forward_r32_34(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:,:)
    real(real32), intent(inout), target, contiguous :: y(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_34

  !> `cl_model_forward` with real(real32) x of rank 4 and y of rank 1.
  subroutine forward_r32_41(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:,:,:)
    real(real32), intent(inout), target, contiguous :: y(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_41

  !> `cl_model_forward` with real(real32) x of rank 4 and y of rank 2.
  subroutine forward_r32_42(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:,:,:)
    real(real32), intent(inout), target, contiguous :: y(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_42

  !> `cl_model_forward` with real(real32) x of rank 4 and y of rank 3.
  subroutine forward_r32_43(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:,:,:)
    real(real32), intent(inout), target, contiguous :: y(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_43

  !> `cl_model_forward` with real(real32) x of rank 4 and y of rank 4.
  subroutine forward_r32_44(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real32), intent(in), target, contiguous :: x(:,:,:,:)
    real(real32), intent(inout), target, contiguous :: y(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT32, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r32_44

  !> `cl_model_forward` with real(real64) x of rank 1 and y of rank 1.
  subroutine forward_r64_11(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:)
    real(real64), intent(inout), target, contiguous :: y(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_11

  !> `cl_model_forward` with real(real64) x of rank 1 and y of rank 2.
  subroutine forward_r64_12(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:)
    real(real64), intent(inout), target, contiguous :: y(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_12

  !> `cl_model_forward` with real(real64) x of rank 1 and y of rank 3.
  subroutine forward_r64_13(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:)
    real(real64), intent(inout), target, contiguous :: y(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_13

  !> `cl_model_forward` with real(real64) x of rank 1 and y of rank 4.
  subroutine forward_r64_14(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:)
    real(real64), intent(inout), target, contiguous :: y(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_14

  !> `cl_model_forward` with real(real64) x of rank 2 and y of rank 1.
  subroutine forward_r64_21(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:)
    real(real64), intent(inout), target, contiguous :: y(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_21

  !> `cl_model_forward` with real(real64) x of rank 2 and y of rank 2.
  subroutine forward_r64_22(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:)
    real(real64), intent(inout), target, contiguous :: y(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_22

  !> `cl_model_forward` with real(real64) x of rank 2 and y of rank 3.
  subroutine forward_r64_23(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:)
    real(real64), intent(inout), target, contiguous :: y(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_23

  !> `cl_model_forward` with real(real64) x of rank 2 and y of rank 4.
  subroutine forward_r64_24(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:)
    real(real64), intent(inout), target, contiguous :: y(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_24

  !> `cl_model_forward` with real(real64) x of rank 3 and y of rank 1.
  subroutine forward_r64_31(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:,:)
    real(real64), intent(inout), target, contiguous :: y(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_31

  !> `cl_model_forward` with real(real64) x of rank 3 and y of rank 2.
  subroutine forward_r64_32(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:,:)
    real(real64), intent(inout), target, contiguous :: y(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_32

  !> `cl_model_forward` with real(real64) x of rank 3 and y of rank 3.
  subroutine forward_r64_33(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:,:)
    real(real64), intent(inout), target, contiguous :: y(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_33

  !> `cl_model_forward` with real(real64) x of rank 3 and y of rank 4.
  subroutine forward_r64_34(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:,:)
    real(real64), intent(inout), target, contiguous :: y(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_34

  !> `cl_model_forward` with real(real64) x of rank 4 and y of rank 1.
  subroutine forward_r64_41(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:,:,:)
    real(real64), intent(inout), target, contiguous :: y(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_41

  !> `cl_model_forward` with real(real64) x of rank 4 and y of rank 2.
  subroutine forward_r64_42(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:,:,:)
    real(real64), intent(inout), target, contiguous :: y(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_42

  !> `cl_model_forward` with real(real64) x of rank 4 and y of rank 3.
  subroutine forward_r64_43(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:,:,:)
    real(real64), intent(inout), target, contiguous :: y(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_43

  !> `cl_model_forward` with real(real64) x of rank 4 and y of rank 4.
  subroutine forward_r64_44(model, x, y, stat, errmsg)
    type(cl_model), intent(in) :: model
    real(real64), intent(in), target, contiguous :: x(:,:,:,:)
    real(real64), intent(inout), target, contiguous :: y(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: px, py
    px = c_null_ptr
    py = c_null_ptr
    if (size(x) > 0) px = c_loc(x)
    if (size(y) > 0) py = c_loc(y)
    call forward_pair(model, CL_FLOAT64, px, shape(x, kind=c_int64_t), &
                      py, shape(y, kind=c_int64_t), stat, errmsg)
  end subroutine forward_r64_44

  !> `cl_tensor_wrap` for a real(real32) array of rank 1.
  subroutine wrap_r32_1(t, array, stat, errmsg)
    type(cl_tensor), intent(out) :: t
    real(real32), intent(in), target :: array(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: p
    if (.not. is_contiguous(array)) then
      call report(CL_ERR_ARGUMENT, MSG_NOT_CONTIGUOUS, stat, errmsg)
      return
    end if
    p = c_null_ptr
    if (size(array) > 0) p = c_loc(array)
    t = describe(p, CL_FLOAT32, shape(array, kind=c_int64_t))
    if (present(stat)) stat = CL_OK
  end subroutine wrap_r32_1

  !> `cl_tensor_wrap` for a real(real32) array of rank 2.
  subroutine wrap_r32_2(t, array, stat, errmsg)
    type(cl_tensor), intent(out) :: t
    real(real32), intent(in), target :: array(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: p
    if (.not. is_contiguous(array)) then
      call report(CL_ERR_ARGUMENT, MSG_NOT_CONTIGUOUS, stat, errmsg)
      return
    end if
    p = c_null_ptr
    if (size(array) > 0) p = c_loc(array)
    t = describe(p, CL_FLOAT32, shape(array, kind=c_int64_t))
    if (present(stat)) stat = CL_OK
  end subroutine wrap_r32_2

  !> `cl_tensor_wrap` for a real(real32) array of rank 3.
  subroutine wrap_r32_3(t, array, stat, errmsg)
    type(cl_tensor), intent(out) :: t
    real(real32), intent(in), target :: array(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: p
    if (.not. is_contiguous(array)) then
      call report(CL_ERR_ARGUMENT, MSG_NOT_CONTIGUOUS, stat, errmsg)
      return
    end if
    p = c_null_ptr
    if (size(array) > 0) p = c_loc(array)
    t = describe(p, CL_FLOAT32, shape(array, kind=c_int64_t))
    if (present(stat)) stat = CL_OK
  end subroutine wrap_r32_3

  !> `cl_tensor_wrap` for a real(real32) array of rank 4.
  subroutine wrap_r32_4(t, array, stat, errmsg)
    type(cl_tensor), intent(out) :: t
    real(real32), intent(in), target :: array(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: p
    if (.not. is_contiguous(array)) then
      call report(CL_ERR_ARGUMENT, MSG_NOT_CONTIGUOUS, stat, errmsg)
      return
    end if
    p = c_null_ptr
    if (size(array) > 0) p = c_loc(array)
    t = describe(p, CL_FLOAT32, shape(array, kind=c_int64_t))
    if (present(stat)) stat = CL_OK
  end subroutine wrap_r32_4

  !> `cl_tensor_wrap` for a real(real64) array of rank 1.
  subroutine wrap_r64_1(t, array, stat, errmsg)
    type(cl_tensor), intent(out) :: t
    real(real64), intent(in), target :: array(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: p
    if (.not. is_contiguous(array)) then
      call report(CL_ERR_ARGUMENT, MSG_NOT_CONTIGUOUS, stat, errmsg)
      return
    end if
    p = c_null_ptr
    if (size(array) > 0) p = c_loc(array)
    t = describe(p, CL_FLOAT64, shape(array, kind=c_int64_t))
    if (present(stat)) stat = CL_OK
  end subroutine wrap_r64_1

  !> `cl_tensor_wrap` for a real(real64) array of rank 2.
  subroutine wrap_r64_2(t, array, stat, errmsg)
    type(cl_tensor), intent(out) :: t
    real(real64), intent(in), target :: array(:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: p
    if (.not. is_contiguous(array)) then
      call report(CL_ERR_ARGUMENT, MSG_NOT_CONTIGUOUS, stat, errmsg)
      return
    end if
    p = c_null_ptr
    if (size(array) > 0) p = c_loc(array)
    t = describe(p, CL_FLOAT64, shape(array, kind=c_int64_t))
    if (present(stat)) stat = CL_OK
  end subroutine wrap_r64_2

  !> `cl_tensor_wrap` for a real(real64) array of rank 3.
  subroutine wrap_r64_3(t, array, stat, errmsg)
    type(cl_tensor), intent(out) :: t
    real(real64), intent(in), target :: array(:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: p
    if (.not. is_contiguous(array)) then
      call report(CL_ERR_ARGUMENT, MSG_NOT_CONTIGUOUS, stat, errmsg)
      return
    end if
    p = c_null_ptr
    if (size(array) > 0) p = c_loc(array)
    t = describe(p, CL_FLOAT64, shape(array, kind=c_int64_t))
    if (present(stat)) stat = CL_OK
  end subroutine wrap_r64_3

  !> `cl_tensor_wrap` for a real(real64) array of rank 4.
  subroutine wrap_r64_4(t, array, stat, errmsg)
    type(cl_tensor), intent(out) :: t
    real(real64), intent(in), target :: array(:,:,:,:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    type(c_ptr) :: p
    if (.not. is_contiguous(array)) then
      call report(CL_ERR_ARGUMENT, MSG_NOT_CONTIGUOUS, stat, errmsg)
      return
    end if
    p = c_null_ptr
    if (size(array) > 0) p = c_loc(array)
    t = describe(p, CL_FLOAT64, shape(array, kind=c_int64_t))
    if (present(stat)) stat = CL_OK
  end subroutine wrap_r64_4

  ! ======================================================================================
  ! Metadata
  ! ======================================================================================

  !> Number of inputs (SIDE_INPUT) or outputs (SIDE_OUTPUT) of a loaded model.
  subroutine count_side(model, side, n, status)
    type(cl_model), intent(in) :: model
    integer, intent(in) :: side
    integer(c_int), intent(out) :: n
    integer(c_int), intent(out) :: status
    n = -1
    if (side == SIDE_INPUT) then
      status = cl_c_model_num_inputs(model%handle, n)
    else
      status = cl_c_model_num_outputs(model%handle, n)
    end if
  end subroutine count_side

  !> Check that the model is loaded and that the 1-based index `i` is in range (when the
  !> model declares its inputs/outputs); report and return false otherwise.
  logical function check_index(model, side, i, stat, errmsg) result(ok)
    type(cl_model), intent(in) :: model
    integer, intent(in) :: side
    integer, intent(in) :: i
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    integer(c_int) :: n, status
    character(len=64) :: text
    ok = require_loaded(model, stat, errmsg)
    if (.not. ok) return
    call count_side(model, side, n, status)
    if (status /= CL_OK) then
      ok = .false.
      call report_c(status, stat, errmsg)
    else if (n >= 0 .and. (i < 1 .or. i > n)) then
      ok = .false.
      if (side == SIDE_INPUT) then
        write (text, "('input index ', i0, ' out of range 1..', i0)") i, n
      else
        write (text, "('output index ', i0, ' out of range 1..', i0)") i, n
      end if
      call report(CL_ERR_ARGUMENT, trim(text), stat, errmsg)
    end if
  end function check_index

  !> Number of inputs declared in the model's metadata (-1 if it has none, or on error).
  integer function cl_model_num_inputs(model, stat, errmsg) result(n)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    n = num_side(model, SIDE_INPUT, stat, errmsg)
  end function cl_model_num_inputs

  !> Number of outputs declared in the model's metadata (-1 if it has none, or on error).
  integer function cl_model_num_outputs(model, stat, errmsg) result(n)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    n = num_side(model, SIDE_OUTPUT, stat, errmsg)
  end function cl_model_num_outputs

  !> Number of inputs or outputs (shared body of the two public getters).
  integer function num_side(model, side, stat, errmsg) result(n)
    type(cl_model), intent(in) :: model
    integer, intent(in) :: side
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    integer(c_int) :: cn, status
    n = -1
    if (.not. require_loaded(model, stat, errmsg)) return
    call count_side(model, side, cn, status)
    if (status == CL_OK) n = int(cn)
    call report_c(status, stat, errmsg)
  end function num_side

  !> Name of input `i` (1-based), as declared in the metadata ("" on error).
  function cl_model_input_name(model, i, stat, errmsg) result(name)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Index of the input, 1-based.
    integer, intent(in) :: i
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    character(len=:), allocatable :: name
    name = indexed_string(model, SIDE_INPUT, i, cl_c_model_input_name, stat, errmsg)
  end function cl_model_input_name

  !> Name of output `i` (1-based), as declared in the metadata ("" on error).
  function cl_model_output_name(model, i, stat, errmsg) result(name)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Index of the output, 1-based.
    integer, intent(in) :: i
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    character(len=:), allocatable :: name
    name = indexed_string(model, SIDE_OUTPUT, i, cl_c_model_output_name, stat, errmsg)
  end function cl_model_output_name

  !> Units of input `i` (1-based), UDUNITS syntax ("" on error).
  function cl_model_input_units(model, i, stat, errmsg) result(units)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Index of the input, 1-based.
    integer, intent(in) :: i
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    character(len=:), allocatable :: units
    units = indexed_string(model, SIDE_INPUT, i, cl_c_model_input_units, stat, errmsg)
  end function cl_model_input_units

  !> Units of output `i` (1-based), UDUNITS syntax ("" on error).
  function cl_model_output_units(model, i, stat, errmsg) result(units)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Index of the output, 1-based.
    integer, intent(in) :: i
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    character(len=:), allocatable :: units
    units = indexed_string(model, SIDE_OUTPUT, i, cl_c_model_output_units, stat, errmsg)
  end function cl_model_output_units

  !> Name or units of input/output `i` (shared body of the four public string getters).
  function indexed_string(model, side, i, getter, stat, errmsg) result(s)
    type(cl_model), intent(in) :: model
    integer, intent(in) :: side
    integer, intent(in) :: i
    procedure(cl_c_indexed_string_fn) :: getter
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    character(len=:), allocatable :: s
    integer(c_int) :: status
    s = ""
    if (.not. check_index(model, side, i, stat, errmsg)) return
    call fetch_indexed_string(getter, model%handle, int(i - 1, c_int), s, status)
    call report_c(status, stat, errmsg)
  end function indexed_string

  !> Shape of input `i` (1-based) in Fortran order, as the caller declares the array;
  !> the batch dimension (the last one) is -1. `shape` is allocated to the input's rank
  !> (to size 0 on error).
  subroutine cl_model_input_shape(model, i, shape, stat, errmsg)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Index of the input, 1-based.
    integer, intent(in) :: i
    !> Extents in Fortran order, -1 for the batch dimension.
    integer(int64), allocatable, intent(out) :: shape(:)
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    call side_shape(model, SIDE_INPUT, i, shape, stat, errmsg)
  end subroutine cl_model_input_shape

  !> Shape of output `i` (1-based) in Fortran order, as the caller declares the array;
  !> the batch dimension (the last one) is -1. `shape` is allocated to the output's rank
  !> (to size 0 on error).
  subroutine cl_model_output_shape(model, i, shape, stat, errmsg)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Index of the output, 1-based.
    integer, intent(in) :: i
    !> Extents in Fortran order, -1 for the batch dimension.
    integer(int64), allocatable, intent(out) :: shape(:)
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    call side_shape(model, SIDE_OUTPUT, i, shape, stat, errmsg)
  end subroutine cl_model_output_shape

  !> Shape of input/output `i` (shared body of the two public shape getters).
  subroutine side_shape(model, side, i, extents, stat, errmsg)
    type(cl_model), intent(in) :: model
    integer, intent(in) :: side
    integer, intent(in) :: i
    integer(int64), allocatable, intent(out) :: extents(:)
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    integer(c_int64_t) :: buf(CL_MAX_RANK)
    integer(c_int) :: rank, status
    allocate (extents(0))
    if (.not. check_index(model, side, i, stat, errmsg)) return
    rank = 0
    buf = 0
    if (side == SIDE_INPUT) then
      status = cl_c_model_input_shape(model%handle, int(i - 1, c_int), rank, buf, &
                                      int(CL_MAX_RANK, c_int))
    else
      status = cl_c_model_output_shape(model%handle, int(i - 1, c_int), rank, buf, &
                                       int(CL_MAX_RANK, c_int))
    end if
    if (status == CL_OK) extents = int(buf(1:min(max(int(rank), 0), CL_MAX_RANK)), int64)
    call report_c(status, stat, errmsg)
  end subroutine side_shape

  !> Element type of input `i` (1-based): `CL_FLOAT32` or `CL_FLOAT64` (-1 on error).
  integer function cl_model_input_dtype(model, i, stat, errmsg) result(dtype)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Index of the input, 1-based.
    integer, intent(in) :: i
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    dtype = side_dtype(model, SIDE_INPUT, i, stat, errmsg)
  end function cl_model_input_dtype

  !> Element type of output `i` (1-based): `CL_FLOAT32` or `CL_FLOAT64` (-1 on error).
  integer function cl_model_output_dtype(model, i, stat, errmsg) result(dtype)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Index of the output, 1-based.
    integer, intent(in) :: i
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    dtype = side_dtype(model, SIDE_OUTPUT, i, stat, errmsg)
  end function cl_model_output_dtype

  !> dtype of input/output `i` (shared body of the two public dtype getters).
  integer function side_dtype(model, side, i, stat, errmsg) result(dtype)
    type(cl_model), intent(in) :: model
    integer, intent(in) :: side
    integer, intent(in) :: i
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    integer(c_int) :: cdtype, status
    dtype = -1
    if (.not. check_index(model, side, i, stat, errmsg)) return
    cdtype = -1
    if (side == SIDE_INPUT) then
      status = cl_c_model_input_dtype(model%handle, int(i - 1, c_int), cdtype)
    else
      status = cl_c_model_output_dtype(model%handle, int(i - 1, c_int), cdtype)
    end if
    if (status == CL_OK) dtype = int(cdtype)
    call report_c(status, stat, errmsg)
  end function side_dtype

  !> The model card (the file's `climlearn/meta.json`) as a JSON string ("{}" if the file
  !> has none; "" on error).
  function cl_model_card(model, stat, errmsg) result(card)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    character(len=:), allocatable :: card
    integer(c_int) :: status
    card = ""
    if (.not. require_loaded(model, stat, errmsg)) return
    call fetch_string(cl_c_model_card, model%handle, card, status)
    call report_c(status, stat, errmsg)
  end function cl_model_card

  !> The device the model runs on, e.g. "cpu" or "cuda:0" ("" on error).
  function cl_model_device(model, stat, errmsg) result(device)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    character(len=:), allocatable :: device
    integer(c_int) :: status
    device = ""
    if (.not. require_loaded(model, stat, errmsg)) return
    call fetch_string(cl_c_model_device, model%handle, device, status)
    call report_c(status, stat, errmsg)
  end function cl_model_device

  !> The backend that runs the model: "native", "aot" or "torchscript" ("" on error).
  function cl_model_backend(model, stat, errmsg) result(backend)
    !> A loaded model.
    type(cl_model), intent(in) :: model
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    character(len=:), allocatable :: backend
    integer(c_int) :: status
    backend = ""
    if (.not. require_loaded(model, stat, errmsg)) return
    call fetch_string(cl_c_model_backend, model%handle, backend, status)
    call report_c(status, stat, errmsg)
  end function cl_model_backend

end module climlearn_model
