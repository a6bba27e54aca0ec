!> climlearn_python: call Python from Fortran, on arrays shared without copies.
!>
!> ```fortran
!> use climlearn_python
!> real(real64), allocatable, target :: t(:,:), y(:,:)    ! t(nlev, ncol), y(nout, ncol)
!> call cl_py_init(stat=stat, errmsg=msg)                  ! once, early
!> call cl_py_call("mypkg.physics:predict", [cl_py_arg("t", t)], [cl_py_arg("y", y)], &
!>                 stat=stat, errmsg=msg)                  ! every time step
!> call cl_py_finalize()                                   ! once, at the end
!> ```
!>
!> The Python callable (`"package.module:function"`, importable from the package's
!> environment, from PYTHONPATH or from the folders given to `cl_py_init(path=...)`)
!> receives the inputs as keyword arguments: numpy arrays over the Fortran memory, in
!> Fortran order and with the Fortran shape (`t(nlev, ncol)` arrives as an array of shape
!> `(nlev, ncol)`), read-only unless built with `cl_py_arg(..., writable=.true.)`, in which
!> case whatever Python writes into them changes the Fortran array. It returns a dict
!> `{name: array}` with (at least) the outputs' names, or the array itself when there is
!> one output; each is checked against the Fortran output's shape and kind (a float64
!> result may fill a real32 array; a float result cannot fill an integer one) and written
!> into it. Supported: `real(real32)`, `real(real64)`, `integer(int32)`, ranks 1 to 4.
!>
!> Errors follow the convention of `allocate` (and of module `climlearn`): with `stat`
!> present it is set (`CL_OK` or a `CL_ERR_*` code) and, on error, `errmsg`; with `stat`
!> absent an error stops the program with the message. A Python exception gives
!> `CL_ERR_RUNTIME` and a message with the exception type, its message and the last line
!> of the traceback; the interpreter stays usable and the host continues.
!>
!> This module is separate from the umbrella module `climlearn` on purpose: it lives in
!> libclimlearn_python (link flags: `climlearn-config --python-libs`), which needs
!> libpython, and programs that never call Python must not. It re-exports the status
!> constants of `climlearn_c` (the very same entities as `use climlearn` gives, so the two
!> modules can be used together).
module climlearn_python
  use, intrinsic :: iso_c_binding, only: c_ptr, c_null_ptr, c_associated, c_loc, c_f_pointer, &
                                         c_int, c_int32_t, c_int64_t, c_char, c_null_char, &
                                         c_size_t
  use, intrinsic :: iso_fortran_env, only: real32, real64, int32
  use climlearn_c, only: CL_OK, CL_ERR_ARGUMENT, CL_ERR_SHAPE, CL_ERR_DTYPE, CL_ERR_RUNTIME, &
                         CL_ERR_STATE
  implicit none
  private

  public :: CL_OK, CL_ERR_ARGUMENT, CL_ERR_SHAPE, CL_ERR_DTYPE, CL_ERR_RUNTIME, CL_ERR_STATE
  public :: cl_py_array, cl_py_arg
  public :: cl_py_init, cl_py_call, cl_py_finalize, cl_py_is_initialized, cl_py_last_error

  !> Longest name of an array (bytes), as in climlearn_python.h.
  integer, parameter :: NAME_LEN = 64
  integer, parameter :: MAX_RANK = 4
  integer(c_int32_t), parameter :: CL_PY_FLOAT32 = 1, CL_PY_FLOAT64 = 2, CL_PY_INT32 = 3
  integer(c_int32_t), parameter :: CL_PY_FINE = 0, CL_PY_NOT_CONTIGUOUS = 1, &
                                   CL_PY_NAME_TOO_LONG = 2

  !> One named array for `cl_py_call` (the C `struct cl_py_array`): make it with
  !> `cl_py_arg`. It points at the Fortran array and does not own it: the array must have
  !> the TARGET (or POINTER) attribute in the caller and must outlive the descriptor's
  !> use (build descriptors in the call statement itself, or just before it).
  type, bind(c) :: cl_py_array
    !> NUL-terminated name: the keyword argument in Python.
    character(kind=c_char) :: name(NAME_LEN) = c_null_char
    !> First element of the array (C NULL for an empty array).
    type(c_ptr) :: data = c_null_ptr
    !> Element type code (1 real32, 2 real64, 3 int32; 0: not set).
    integer(c_int32_t) :: dtype = 0
    !> Rank, 1 to 4.
    integer(c_int32_t) :: rank = 0
    !> 1: Python may write into this input; 0: it is read-only there.
    integer(c_int32_t) :: writable = 0
    !> 0, or why the descriptor cannot be used (1: not contiguous; 2: name too long).
    integer(c_int32_t) :: problem = 0
    !> Extents in Fortran order.
    integer(c_int64_t) :: shape(MAX_RANK) = 0
  end type cl_py_array

  !> Describe a named array for `cl_py_call`:
  !> `arg = cl_py_arg(name, array [, writable])`.
  !>
  !> `array` is `real(real32)`, `real(real64)` or `integer(int32)`, rank 1 to 4, and
  !> should have the TARGET attribute (its address is kept). `name` (at most 63
  !> characters, trailing blanks ignored) is the keyword under which Python receives the
  !> array, or the key of the returned dict for an output. `writable` (default false)
  !> lets Python write into an input. A non-contiguous array gives a descriptor that
  !> `cl_py_call` rejects with `CL_ERR_ARGUMENT`.
  interface cl_py_arg
    module procedure arg_r32_1, arg_r32_2, arg_r32_3, arg_r32_4
    module procedure arg_r64_1, arg_r64_2, arg_r64_3, arg_r64_4
    module procedure arg_i32_1, arg_i32_2, arg_i32_3, arg_i32_4
  end interface cl_py_arg

  interface
    function c_init(extra_path) bind(c, name="cl_py_init") result(status)
      import :: c_char, c_int
      character(kind=c_char), intent(in) :: extra_path(*)
      integer(c_int) :: status
    end function c_init

    function c_is_initialized() bind(c, name="cl_py_is_initialized") result(yes)
      import :: c_int
      integer(c_int) :: yes
    end function c_is_initialized

    function c_call(target, n_inputs, inputs, n_outputs, outputs) &
        bind(c, name="cl_py_call") result(status)
      import :: c_char, c_int, cl_py_array
      character(kind=c_char), intent(in) :: target(*)
      integer(c_int), value :: n_inputs, n_outputs
      type(cl_py_array), intent(in) :: inputs(*), outputs(*)
      integer(c_int) :: status
    end function c_call

    function c_finalize() bind(c, name="cl_py_finalize") result(status)
      import :: c_int
      integer(c_int) :: status
    end function c_finalize

    function c_last_error() bind(c, name="cl_py_last_error") result(s)
      import :: c_ptr
      type(c_ptr) :: s
    end function c_last_error

    function c_strlen(s) bind(c, name="strlen") result(n)
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
      integer(c_size_t) :: n
    end function c_strlen
  end interface

contains

  ! ======================================================================================
  ! Interpreter
  ! ======================================================================================

  !> Start the embedded Python interpreter: call once, early (before the time loop).
  !>
  !> It runs the Python that built climlearn, with the site-packages folder holding the
  !> installed climlearn (a virtualenv's included) on `sys.path`, whatever PATH,
  !> PYTHONHOME or VIRTUAL_ENV say; PYTHONPATH, when set, is honoured. Calling it again
  !> after success does nothing. After `cl_py_finalize` it fails (`CL_ERR_STATE`):
  !> Python cannot be restarted in one process.
  subroutine cl_py_init(stat, errmsg, path)
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    !> Folders put first on `sys.path`, separated by ':' (e.g. where the host's own
    !> Python modules are).
    character(len=*), intent(in), optional :: path
    if (present(path)) then
      call report_c(c_init(to_c_string(path)), stat, errmsg)
    else
      call report_c(c_init(to_c_string("")), stat, errmsg)
    end if
  end subroutine cl_py_init

  !> True once `cl_py_init` succeeded (and until `cl_py_finalize`).
  logical function cl_py_is_initialized()
    cl_py_is_initialized = c_is_initialized() /= 0
  end function cl_py_is_initialized

  !> Call a Python function on Fortran arrays:
  !> `call cl_py_call(target, inputs [, outputs] [, stat] [, errmsg])`.
  !>
  !> `target` is `"package.module:function"` (the attribute part may be dotted). `inputs`
  !> and `outputs` are arrays of descriptors made by `cl_py_arg` (either may be empty,
  !> `[cl_py_array ::]`); names must be distinct within each. See the module
  !> documentation for what the function receives and must return. Errors: not
  !> initialized (`CL_ERR_STATE`), unknown or malformed target, missing output, bad
  !> descriptor (`CL_ERR_ARGUMENT`), wrong output shape (`CL_ERR_SHAPE`) or kind
  !> (`CL_ERR_DTYPE`), an exception in Python (`CL_ERR_RUNTIME`).
  subroutine cl_py_call(target, inputs, outputs, stat, errmsg)
    !> The callable, "package.module:function".
    character(len=*), intent(in) :: target
    !> Input descriptors (`cl_py_arg`).
    type(cl_py_array), intent(in) :: inputs(:)
    !> Output descriptors (`cl_py_arg`); the arrays they point at receive the results.
    type(cl_py_array), intent(in), optional :: outputs(:)
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    type(cl_py_array) :: none(1)
    if (present(outputs)) then
      call report_c(c_call(to_c_string(target), int(size(inputs), c_int), inputs, &
                           int(size(outputs), c_int), outputs), stat, errmsg)
    else
      call report_c(c_call(to_c_string(target), int(size(inputs), c_int), inputs, &
                           0_c_int, none), stat, errmsg)
    end if
  end subroutine cl_py_call

  !> Shut the embedded interpreter down: forget the cached functions, flush Python's
  !> output and finalize the interpreter. Nothing happens if it was not started.
  !> Python cannot be started again in the same process afterwards.
  subroutine cl_py_finalize(stat, errmsg)
    !> Status (0 on success); if absent, an error stops the program.
    integer, intent(out), optional :: stat
    !> Error message, set only on error (truncated to fit).
    character(len=*), intent(inout), optional :: errmsg
    call report_c(c_finalize(), stat, errmsg)
  end subroutine cl_py_finalize

  !> Last error message of the bridge on the calling thread ("" if none).
  function cl_py_last_error() result(message)
    character(len=:), allocatable :: message
    message = from_c_pointer(c_last_error())
  end function cl_py_last_error

  ! ======================================================================================
  ! Helpers
  ! ======================================================================================

  !> Apply the error convention to a status of the C library.
  subroutine report_c(status, stat, errmsg)
    integer(c_int), intent(in) :: status
    integer, intent(out), optional :: stat
    character(len=*), intent(inout), optional :: errmsg
    character(len=:), allocatable :: message
    character(len=12) :: code
    if (status /= CL_OK) then
      message = cl_py_last_error()
      if (len(message) == 0) then
        write (code, "(i0)") status
        message = "the Python bridge returned status " // trim(code) // " without a message"
      end if
    end if
    if (present(stat)) then
      stat = int(status)
      if (status /= CL_OK .and. present(errmsg)) errmsg = message
    else if (status /= CL_OK) then
      error stop "climlearn: " // message
    end if
  end subroutine report_c

  !> Copy of a NUL-terminated C string ("" for a null pointer).
  function from_c_pointer(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: n, k
    if (.not. c_associated(p)) then
      s = ""
      return
    end if
    n = int(c_strlen(p))
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

  !> Fill a descriptor (all but its data pointer).
  function describe(name, dtype, extents, contiguous, writable) result(arg)
    character(len=*), intent(in) :: name
    integer(c_int32_t), intent(in) :: dtype
    integer(c_int64_t), intent(in) :: extents(:)
    logical, intent(in) :: contiguous
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    integer :: k, n
    n = len_trim(name)
    do k = 1, min(n, NAME_LEN - 1)
      arg%name(k) = name(k:k)
    end do
    arg%dtype = dtype
    arg%rank = int(size(extents), c_int32_t)
    arg%shape(1:size(extents)) = extents
    if (present(writable)) arg%writable = merge(1_c_int32_t, 0_c_int32_t, writable)
    if (n > NAME_LEN - 1) then
      arg%problem = CL_PY_NAME_TOO_LONG
    else if (.not. contiguous) then
      arg%problem = CL_PY_NOT_CONTIGUOUS
    end if
  end function describe

  ! --------------------------------------------------------------------------------------
  ! Specifics of cl_py_arg (one per kind and rank). They were generated and are identical
  ! apart from their declarations.
  ! --------------------------------------------------------------------------------------

  !> `cl_py_arg` for a real(real32) array of rank 1.
  function arg_r32_1(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    real(real32), intent(in), target :: array(:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_FLOAT32, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_r32_1

  !> `cl_py_arg` for a real(real32) array of rank 2.
  function arg_r32_2(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    real(real32), intent(in), target :: array(:,:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_FLOAT32, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_r32_2

  !> `cl_py_arg` for a real(real32) array of rank 3.
  function arg_r32_3(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    real(real32), intent(in), target :: array(:,:,:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_FLOAT32, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_r32_3

  !> `cl_py_arg` for a real(real32) array of rank 4.
  function arg_r32_4(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    real(real32), intent(in), target :: array(:,:,:,:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_FLOAT32, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_r32_4

  !> `cl_py_arg` for a real(real64) array of rank 1.
  function arg_r64_1(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    real(real64), intent(in), target :: array(:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_FLOAT64, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_r64_1

  !> `cl_py_arg` for a real(real64) array of rank 2.
  function arg_r64_2(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    real(real64), intent(in), target :: array(:,:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_FLOAT64, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_r64_2

  !> `cl_py_arg` for a real(real64) array of rank 3.
  function arg_r64_3(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    real(real64), intent(in), target :: array(:,:,:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_FLOAT64, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_r64_3

  !> `cl_py_arg` for a real(real64) array of rank 4.
  function arg_r64_4(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    real(real64), intent(in), target :: array(:,:,:,:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_FLOAT64, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_r64_4

  !> `cl_py_arg` for a integer(int32) array of rank 1.
  function arg_i32_1(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    integer(int32), intent(in), target :: array(:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_INT32, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_i32_1

  !> `cl_py_arg` for a integer(int32) array of rank 2.
  function arg_i32_2(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    integer(int32), intent(in), target :: array(:,:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_INT32, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_i32_2

  !> `cl_py_arg` for a integer(int32) array of rank 3.
  function arg_i32_3(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    integer(int32), intent(in), target :: array(:,:,:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_INT32, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_i32_3

  !> `cl_py_arg` for a integer(int32) array of rank 4.
  function arg_i32_4(name, array, writable) result(arg)
    character(len=*), intent(in) :: name
    integer(int32), intent(in), target :: array(:,:,:,:)
    logical, intent(in), optional :: writable
    type(cl_py_array) :: arg
    arg = describe(name, CL_PY_INT32, shape(array, kind=c_int64_t), is_contiguous(array), writable)
    if (arg%problem == CL_PY_FINE .and. size(array) > 0) arg%data = c_loc(array)
  end function arg_i32_4
end module climlearn_python
