!> Benchmark: time cl_model_forward from Fortran, and resident-memory growth.
!> usage: bench_fortran MODEL NCOL NCALLS REPEATS [BACKEND]
!> BACKEND is 'auto' (default), 'torchscript', 'aot' or 'native'. The model takes x(nin, ncol) and
!> returns y(nout, ncol), float32; nin and nout are read from its metadata.
!> Prints "BACKEND <name>", "US_PER_CALL <median over repeats>" and "RSS_KB <before> <after>" where
!> before is measured after a warm-up of min(1000, NCALLS) calls and after at the end of all calls.
program bench_fortran
  use, intrinsic :: iso_fortran_env, only: real32, int64
  use climlearn
  implicit none
  type(cl_model) :: model
  real(real32), allocatable :: x(:,:), y(:,:)
  integer :: ncol, ncalls, repeats, i, r
  integer(int64), allocatable :: sin(:), sout(:)
  character(len=32) :: backend = 'auto'
  integer(int64) :: t0, t1, rate, rss0, rss1
  real, allocatable :: us(:)
  character(len=512) :: path, arg

  call get_command_argument(1, path)
  call get_command_argument(2, arg); read (arg, *) ncol
  call get_command_argument(3, arg); read (arg, *) ncalls
  call get_command_argument(4, arg); read (arg, *) repeats
  if (command_argument_count() >= 5) call get_command_argument(5, backend)
  call cl_set_num_threads(1)
  call cl_model_load(model, trim(path), backend=trim(backend))
  call cl_model_input_shape(model, 1, sin)
  call cl_model_output_shape(model, 1, sout)
  allocate (x(sin(1), ncol), y(sout(1), ncol), us(repeats))
  call random_number(x)
  do i = 1, min(1000, ncalls)
    call cl_model_forward(model, x, y)
  end do
  rss0 = rss_kb()
  do r = 1, repeats
    call system_clock(t0, rate)
    do i = 1, ncalls
      call cl_model_forward(model, x, y)
    end do
    call system_clock(t1)
    us(r) = real(t1 - t0) / real(rate) * 1.0e6 / real(ncalls)
  end do
  rss1 = rss_kb()
  print '(2a)', 'BACKEND ', cl_model_backend(model)
  print '(a, f12.3)', 'US_PER_CALL ', median(us)
  print '(a, 2i12)', 'RSS_KB ', rss0, rss1

contains

  integer(int64) function rss_kb()
    character(len=256) :: line
    integer :: u, ios
    rss_kb = -1
    open (newunit=u, file='/proc/self/status', action='read', iostat=ios)
    if (ios /= 0) return
    do
      read (u, '(a)', iostat=ios) line
      if (ios /= 0) exit
      if (line(1:6) == 'VmRSS:') read (line(7:), *) rss_kb
    end do
    close (u)
  end function rss_kb

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
end program bench_fortran
