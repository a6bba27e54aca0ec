!> Example 02: the coarse Lorenz 96 model with a sub-grid parametrisation, in Fortran.
!>
!> The sub-grid term U_k is either an exported climlearn network, called ONCE per time
!> step on all k and all ensemble members together (loaded once, before the loop), or a
!> polynomial U = sum_p coef(p) X^p; both optionally with additive AR(1) noise
!> e_t = phi e_{t-1} + sigma sqrt(1 - phi^2) z_t. U is held fixed over each RK4 step.
!>
!> usage: l96_coupled NAMELIST_FILE
!>   &l96_coupled
!>     scheme = 'network'         ! or 'poly'
!>     model_path = 'mlp.pt'      ! network: input X(2*halfwidth+1, ncol), output U(1, ncol)
!>     backend = 'auto'           ! network: 'auto', 'torchscript' or 'native'
!>     halfwidth = 0              ! network stencil X_{k-s..k+s}
!>     ncoef = 4, coef = 0.3, 1.5, -0.02, -0.01   ! poly, ascending powers
!>     phi = 0.0, sigma = 0.0, seed = 1           ! AR(1) noise (sigma = 0: none)
!>     nk = 8, nens = 1, forcing = 20.0, dt = 0.005, nsteps = 1000, every = 1
!>     init_file = 'x0.bin'       ! x0(nk, nens), raw float64
!>     out_file = 'xs.bin'        ! x(nk, nens, nsteps/every), raw float64, after steps
!>   /                            ! every, 2*every, ...
!> Prints "SECONDS_PER_STEP t" and "NONFINITE_STEP n" (0 when the run stayed finite).
!> Build: gfortran main.f90 $(climlearn-config --fflags --libs) -lclimlearn_l96
program l96_coupled_main
  use, intrinsic :: iso_fortran_env, only: real32, real64, int64, error_unit, output_unit
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
  use climlearn
  use l96_physics, only: l96_coarse_rk4_step
  implicit none

  integer, parameter :: max_coef = 16
  character(len=16) :: scheme = 'network', backend = 'auto'
  character(len=1024) :: model_path = '', init_file = 'x0.bin', out_file = 'xs.bin'
  integer :: halfwidth = 0, ncoef = 0, seed = 1, nk = 8, nens = 1, nsteps = 0, every = 1
  real(real64) :: coef(max_coef) = 0, phi = 0, sigma = 0, forcing = 20, dt = 0.005_real64
  namelist /l96_coupled/ scheme, model_path, backend, halfwidth, ncoef, coef, phi, sigma, seed, &
    nk, nens, forcing, dt, nsteps, every, init_file, out_file

  type(cl_model) :: model
  real(real64), allocatable :: x(:,:), u(:,:), noise(:,:), z(:,:)
  real(real32), allocatable :: s32(:,:), u32(:,:)
  real(real64), allocatable :: s64(:,:), u64(:,:)
  character(len=1024) :: nml_path, msg
  integer :: stat, unit, step, width, ncol, dtype, bad_step
  integer(int64) :: t0, t1, rate
  logical :: use_net, use_noise

  if (command_argument_count() /= 1) then
    write (error_unit, '(a)') 'usage: l96_coupled NAMELIST_FILE'
    stop 2
  end if
  call get_command_argument(1, nml_path)
  open (newunit=unit, file=trim(nml_path), status='old', action='read', iostat=stat)
  if (stat == 0) read (unit, nml=l96_coupled, iostat=stat, iomsg=msg)
  if (stat /= 0) then
    write (error_unit, '(3a)') 'cannot read namelist &l96_coupled from ', trim(nml_path)
    stop 2
  end if
  close (unit)
  use_net = scheme == 'network'
  if (.not. use_net .and. scheme /= 'poly') call fail("scheme must be 'network' or 'poly', given '" &
                                                       // trim(scheme) // "'")
  if (nsteps < 0 .or. every < 1 .or. nk < 4 .or. nens < 1 .or. dt <= 0) &
    call fail('invalid run length or sizes in the namelist')
  if (.not. use_net .and. (ncoef < 1 .or. ncoef > max_coef)) call fail('ncoef must be in 1..16')
  use_noise = sigma > 0

  allocate (x(nk, nens), u(nk, nens), noise(nk, nens), z(nk, nens))
  open (newunit=unit, file=trim(init_file), access='stream', form='unformatted', &
        status='old', action='read', iostat=stat)
  if (stat /= 0) call fail('cannot open init_file ' // trim(init_file))
  read (unit, iostat=stat) x
  if (stat /= 0) call fail('init_file too short: expected nk*nens float64 values')
  close (unit)

  width = 2 * halfwidth + 1
  ncol = nk * nens
  if (use_net) then
    ! Load once, outside the time loop; check the model against this program's layout.
    call cl_set_num_threads(1)
    call cl_model_load(model, trim(model_path), stat=stat, errmsg=msg, backend=trim(backend))
    if (stat /= CL_OK) call fail(msg)
    dtype = cl_model_input_dtype(model, 1)
    if (dtype == CL_FLOAT32) then
      allocate (s32(width, ncol), u32(1, ncol))
    else
      allocate (s64(width, ncol), u64(1, ncol))
    end if
  end if
  call seed_noise(seed)
  noise = 0

  open (newunit=unit, file=trim(out_file), access='stream', form='unformatted', &
        status='replace', action='write')
  bad_step = 0
  call system_clock(t0, rate)
  do step = 1, nsteps
    if (use_net) then
      call network_tendency()
    else
      call poly_tendency()
    end if
    if (use_noise) then
      call normal(z)
      noise = phi * noise + sigma * sqrt(1 - phi**2) * z
      u = u + noise
    end if
    call l96_coarse_rk4_step(nk, nens, x, forcing, u, dt)
    if (bad_step == 0) then
      if (.not. all(ieee_is_finite(x))) bad_step = step
    end if
    if (mod(step, every) == 0) write (unit) x
  end do
  call system_clock(t1)
  close (unit)
  write (output_unit, '(a, es14.6)') 'SECONDS_PER_STEP ', &
    real(t1 - t0, real64) / real(rate, real64) / real(max(nsteps, 1), real64)
  write (output_unit, '(a, i0)') 'NONFINITE_STEP ', bad_step

contains

  !> U for all k and members with ONE network call: column (k, m) holds X_{k-s..k+s}.
  subroutine network_tendency()
    integer :: m, k, o, kk
    if (dtype == CL_FLOAT32) then
      do m = 1, nens
        do k = 1, nk
          do o = -halfwidth, halfwidth
            kk = modulo(k - 1 + o, nk) + 1
            s32(o + halfwidth + 1, (m - 1) * nk + k) = real(x(kk, m), real32)
          end do
        end do
      end do
      call cl_model_forward(model, s32, u32, stat=stat, errmsg=msg)
      if (stat /= CL_OK) call fail(msg)
      u = reshape(real(u32(1, :), real64), [nk, nens])
    else
      do m = 1, nens
        do k = 1, nk
          do o = -halfwidth, halfwidth
            kk = modulo(k - 1 + o, nk) + 1
            s64(o + halfwidth + 1, (m - 1) * nk + k) = x(kk, m)
          end do
        end do
      end do
      call cl_model_forward(model, s64, u64, stat=stat, errmsg=msg)
      if (stat /= CL_OK) call fail(msg)
      u = reshape(u64(1, :), [nk, nens])
    end if
  end subroutine network_tendency

  !> U = sum_p coef(p) X^(p-1), Horner's scheme.
  subroutine poly_tendency()
    integer :: p
    u = coef(ncoef)
    do p = ncoef - 1, 1, -1
      u = u * x + coef(p)
    end do
  end subroutine poly_tendency

  subroutine seed_noise(s)
    integer, intent(in) :: s
    integer :: n, i
    integer, allocatable :: put(:)
    call random_seed(size=n)
    allocate (put(n))
    put = [(s * 7919 + 104729 * i, i = 1, n)]
    call random_seed(put=put)
  end subroutine seed_noise

  !> Standard normal deviates (Box-Muller).
  subroutine normal(a)
    real(real64), intent(out) :: a(:,:)
    real(real64) :: r1(size(a, 1), size(a, 2)), r2(size(a, 1), size(a, 2))
    real(real64), parameter :: two_pi = 6.283185307179586_real64
    call random_number(r1)
    call random_number(r2)
    a = sqrt(-2 * log(1 - r1)) * cos(two_pi * r2)
  end subroutine normal

  subroutine fail(text)
    character(len=*), intent(in) :: text
    write (error_unit, '(2a)') 'l96_coupled: ', trim(text)
    error stop 1
  end subroutine fail
end program l96_coupled_main
