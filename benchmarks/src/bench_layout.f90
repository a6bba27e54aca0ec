!> Benchmark driver: per-call cost of cl_layout_forward against a plain cl_model_forward.
!> usage: bench_layout MODEL KLON KLEV NCALLS MODE
!> The model maps [t(klev), q(klev), ps] to [dtdt(klev), dqdt(klev)] (float32). MODE:
!>   plain    cl_model_forward on x(2*klev+1, klon), already in the model's layout;
!>   layout   cl_layout_forward on host fields t(klon,klev), q, ps -> dtdt, dqdt (real32);
!>   chunk    the same with chunk=256;
!>   guard    the same as layout, with valid_min/valid_max (never hit) and a `bad` mask;
!>   real64   the same as layout with real64 host fields (kind conversion as well).
!> Prints "US <microseconds per call>" (the median of 5 timed loops after a warm-up).
program bench_layout
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64, output_unit
  use climlearn
  implicit none

  type(cl_model) :: model
  type(cl_layout) :: lay
  integer :: klon, klev, ncalls, i, r
  integer(int64) :: c0, c1, rate
  real(real64) :: us(5)
  character(len=1024) :: path, mode, arg
  real(real32), allocatable, target :: x(:,:), y(:,:), t(:,:), q(:,:), ps(:), dt(:,:), dq(:,:)
  real(real64), allocatable, target :: t8(:,:), q8(:,:), ps8(:), dt8(:,:), dq8(:,:)
  logical, allocatable :: bad(:)

  call get_command_argument(1, path)
  klon = int_arg(2)
  klev = int_arg(3)
  ncalls = int_arg(4)
  call get_command_argument(5, mode)
  call cl_model_load(model, trim(path))
  allocate (x(2 * klev + 1, klon), y(2 * klev, klon), t(klon, klev), q(klon, klev), ps(klon), &
            dt(klon, klev), dq(klon, klev), bad(klon))
  call random_number(t)
  call random_number(q)
  call random_number(ps)
  t = 250.0 + 50.0 * t
  q = 0.02 * q
  ps = 1.0e5 + 1.0e3 * ps
  x(1:klev, :) = transpose(t)
  x(klev + 1:2 * klev, :) = transpose(q)
  x(2 * klev + 1, :) = ps
  t8 = t
  q8 = q
  ps8 = ps
  allocate (dt8(klon, klev), dq8(klon, klev))
  if (mode == 'chunk') call cl_layout_init(lay, chunk=256)

  do i = 1, max(ncalls / 10, 1)
    call step()
  end do
  do r = 1, 5
    call system_clock(c0, rate)
    do i = 1, ncalls
      call step()
    end do
    call system_clock(c1)
    us(r) = real(c1 - c0, real64) / real(rate, real64) * 1.0d6 / ncalls
  end do
  call sort(us)
  write (output_unit, '(a, 1x, f0.3)') 'US', us(3)

contains

  subroutine step()
    select case (trim(mode))
    case ('plain')
      call cl_model_forward(model, x, y)
    case ('layout', 'chunk')
      call cl_layout_forward(lay, model, [cl_field(t), cl_field(q), cl_field(ps)], &
                             [cl_field(dt), cl_field(dq)])
    case ('guard')
      call cl_layout_forward(lay, model, [cl_field(t), cl_field(q), cl_field(ps)], &
                             [cl_field(dt), cl_field(dq)], valid_min=[-1d30], &
                             valid_max=[1d30], bad=bad)
    case ('real64')
      call cl_layout_forward(lay, model, [cl_field(t8), cl_field(q8), cl_field(ps8)], &
                             [cl_field(dt8), cl_field(dq8)])
    case default
      error stop 'unknown mode'
    end select
  end subroutine step

  subroutine sort(a)
    real(real64), intent(inout) :: a(:)
    integer :: m, n
    real(real64) :: tmp
    do m = 1, size(a) - 1
      do n = m + 1, size(a)
        if (a(n) < a(m)) then
          tmp = a(m)
          a(m) = a(n)
          a(n) = tmp
        end if
      end do
    end do
  end subroutine sort

  integer function int_arg(k)
    integer, intent(in) :: k
    call get_command_argument(k, arg)
    read (arg, *) int_arg
  end function int_arg
end program bench_layout
