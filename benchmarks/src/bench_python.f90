!> Benchmark: per-call cost of cl_py_call (identity, and an MLP run by torch in the embedded
!> Python) next to cl_model_forward (TorchScript and native backends) on the same model.
!> usage: bench_python MODEL TARGETS_DIR NCOL NCALLS REPEATS
!> Prints "US_PER_CALL <way> <median over repeats>" for the ways py_identity, py_mlp,
!> torchscript, native.
program bench_python
  use, intrinsic :: iso_fortran_env, only: real32, int32, int64
  use climlearn
  use climlearn_python
  implicit none
  type(cl_model) :: ts, nat
  real(real32), allocatable, target :: x(:,:), y(:,:)
  integer(int32), allocatable, target :: codes(:)
  integer :: ncol, ncalls, repeats, i, r, way
  integer(int64) :: t0, t1, rate
  real, allocatable :: us(:)
  character(len=512) :: path, targets, arg
  character(len=16), parameter :: ways(4) = [character(len=16) :: 'py_identity', 'py_mlp', &
                                             'torchscript', 'native']

  call get_command_argument(1, path)
  call get_command_argument(2, targets)
  call get_command_argument(3, arg); read (arg, *) ncol
  call get_command_argument(4, arg); read (arg, *) ncalls
  call get_command_argument(5, arg); read (arg, *) repeats
  call cl_set_num_threads(1)
  call cl_py_init(path=trim(targets))
  codes = [(int(iachar(path(i:i)), int32), i = 1, len_trim(path))]
  call cl_py_call("bench_py_targets:setup", [cl_py_arg("path", codes)])
  call cl_model_load(ts, trim(path), backend='torchscript')
  call cl_model_load(nat, trim(path), backend='native')
  allocate (x(8, ncol), y(8, ncol), us(repeats))
  call random_number(x)

  do way = 1, size(ways)
    do i = 1, min(200, ncalls)
      call one(way)
    end do
    do r = 1, repeats
      call system_clock(t0, rate)
      do i = 1, ncalls
        call one(way)
      end do
      call system_clock(t1)
      us(r) = real(t1 - t0) / real(rate) * 1.0e6 / real(ncalls)
    end do
    print '(3a, f12.3)', 'US_PER_CALL ', trim(ways(way)), ' ', median(us)
  end do
  call cl_py_finalize()

contains

  subroutine one(way)
    integer, intent(in) :: way
    select case (way)
    case (1)
      call cl_py_call("bench_py_targets:identity", [cl_py_arg("x", x)], [cl_py_arg("y", y)])
    case (2)
      call cl_py_call("bench_py_targets:mlp", [cl_py_arg("x", x)], [cl_py_arg("y", y)])
    case (3)
      call cl_model_forward(ts, x, y)
    case (4)
      call cl_model_forward(nat, x, y)
    end select
  end subroutine one

  real function median(a)
    real, intent(in) :: a(:)
    real :: b(size(a)), t
    integer :: i, j
    b = a
    do i = 2, size(b)
      t = b(i)
      j = i - 1
      do while (j >= 1)
        if (b(j) <= t) exit
        b(j + 1) = b(j)
        j = j - 1
      end do
      b(j + 1) = t
    end do
    median = b((size(b) + 1) / 2)
  end function median
end program bench_python
