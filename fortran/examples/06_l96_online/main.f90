!> Example 06: coupled online learning on Lorenz 96 (Fortran model, Python trainer).
!>
!> The coarse Lorenz 96 model (K variables X, time step dt) runs in Fortran with its
!> sub-grid term U_k from a network called through the TorchScript bridge (module
!> `climlearn`) every step. The reference tendency (see README.md) is either
!>   reference = 'truth':   the two-scale model run alongside (RK4, dt / substeps), the
!>                          pairs being its (X, U) - the true U of a twin experiment;
!>   reference = 'coupled': the two-scale model's fast variables Y integrated alongside
!>                          but DRIVEN BY THE COARSE MODEL'S OWN X (X interpolated
!>                          linearly over the coarse step), the pairs being the coarse
!>                          model's X and U_ref = (h c / b) sum_j Y_{j,k}.
!> With nudging_tau > 0 the coarse X is also relaxed towards the truth run's X over that
!> time scale (the truth is then run in either case). Every `train_every`
!> steps the pairs of those steps go to a Python trainer through
!> `cl_py_call` (module `climlearn_python`, arrays shared without copies); the trainer
!> updates the network and, every so often, exports it again to `model_path`; the
!> Fortran side then reloads the file, without restarting.
!>
!> usage: l96_online NAMELIST_FILE
!>   &l96_online
!>     model_path = 'online.pt'                 ! written by the trainer, read here
!>     trainer_config = 'trainer.json'          ! the trainer's settings (JSON)
!>     trainer = 'climlearn.testbeds.lorenz96.online_trainer'   ! start/train/finish
!>     nk = 8, nj = 32, forcing = 20.0, h = 1.0, b = 10.0, c = 10.0
!>     dt = 0.005, substeps = 5, nsteps = 20000, train_every = 10, every = 1
!>     reference = 'truth', nudging_tau = 0.0   ! 'truth' or 'coupled'; 0: no nudging
!>     init_file = 'xy0.bin'                    ! x0(nk) then y0(nj*nk), raw float64
!>     out_file = 'xs.bin'                      ! x(nk) after steps every, 2*every, ...
!>   /
!> Prints "RELOADS n", "TRAIN_CALLS n", "SECONDS_PER_STEP t", "PYTHON_SECONDS t" (in
!> cl_py_call) and "NONFINITE_STEP n" (0 when the run stayed finite).
!> Build: gfortran lorenz96.f90 main.f90 $(climlearn-config --fflags --libs --python-libs)
program l96_online_main
  use, intrinsic :: iso_fortran_env, only: real32, real64, int32, int64, error_unit, output_unit
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
  use climlearn, only: cl_model, cl_model_load, cl_model_forward, cl_set_num_threads
  use climlearn_python
  use l96_physics, only: l96_coarse_rk4_step, l96_two_scale_tendency, l96_subgrid_tendency, &
                         l96_two_scale_rk4_step
  implicit none

  character(len=1024) :: model_path = 'online.pt', trainer_config = 'trainer.json', &
                         init_file = 'xy0.bin', out_file = 'xs.bin'
  character(len=256) :: trainer = 'climlearn.testbeds.lorenz96.online_trainer'
  character(len=16) :: reference = 'truth'
  integer :: nk = 8, nj = 32, substeps = 5, nsteps = 0, train_every = 10, every = 1
  real(real64) :: forcing = 20, h = 1, b = 10, c = 10, dt = 0.005_real64, nudging_tau = 0
  namelist /l96_online/ model_path, trainer_config, trainer, nk, nj, forcing, h, b, c, dt, &
    substeps, nsteps, train_every, every, init_file, out_file, reference, nudging_tau

  type(cl_model) :: model
  real(real64), allocatable :: x(:), x_old(:), y(:), u(:,:), xin(:), dxdt(:), dydt(:), &
                               xt(:), yt(:)
  real(real64), allocatable, target :: xb(:,:), ub(:,:)
  real(real32), allocatable :: s32(:,:), u32(:,:)
  integer(int32), allocatable, target :: config_codes(:)
  integer(int32), target :: reload(1)
  character(len=1024) :: nml_path
  character(len=2048) :: msg
  integer :: stat, unit, out_unit, step, ib, reloads, calls, bad_step, i
  integer(int64) :: t0, t1, p0, p1, rate, py_ticks
  logical :: use_truth, run_truth

  if (command_argument_count() /= 1) then
    write (error_unit, '(a)') 'usage: l96_online NAMELIST_FILE'
    stop 2
  end if
  call get_command_argument(1, nml_path)
  open (newunit=unit, file=trim(nml_path), status='old', action='read', iostat=stat)
  if (stat == 0) read (unit, nml=l96_online, iostat=stat, iomsg=msg)
  if (stat /= 0) call fail('cannot read namelist &l96_online from ' // trim(nml_path))
  close (unit)
  if (nsteps < 0 .or. every < 1 .or. train_every < 1 .or. substeps < 1 .or. nk < 4 .or. &
      nj < 1 .or. dt <= 0 .or. nudging_tau < 0) call fail('invalid sizes or steps in the namelist')
  if (reference /= 'truth' .and. reference /= 'coupled') &
    call fail("reference must be 'truth' or 'coupled', given '" // trim(reference) // "'")
  use_truth = reference == 'truth'
  run_truth = use_truth .or. nudging_tau > 0

  allocate (x(nk), x_old(nk), xin(nk), y(nj * nk), u(nk, 1), dxdt(nk), dydt(nj * nk))
  allocate (xb(nk, train_every), ub(nk, train_every), s32(1, nk), u32(1, nk))
  open (newunit=unit, file=trim(init_file), access='stream', form='unformatted', &
        status='old', action='read', iostat=stat)
  if (stat /= 0) call fail('cannot open init_file ' // trim(init_file))
  read (unit, iostat=stat) x, y
  if (stat /= 0) call fail('init_file too short: expected nk + nj*nk float64 values')
  close (unit)
  xt = x
  yt = y

  ! Python first (the trainer writes the initial network), then the network.
  call cl_py_init(stat=stat, errmsg=msg)
  if (stat /= CL_OK) call fail(msg)
  ! Strings cross as arrays of character codes (the trainer decodes them).
  config_codes = [(int(iachar(trainer_config(i:i)), int32), i = 1, len_trim(trainer_config))]
  call cl_py_call(trim(trainer) // ':start', [cl_py_arg("config", config_codes)], &
                  stat=stat, errmsg=msg)
  if (stat /= CL_OK) call fail(msg)
  call cl_set_num_threads(1)
  call cl_model_load(model, trim(model_path), stat=stat, errmsg=msg)
  if (stat /= CL_OK) call fail(msg)

  open (newunit=out_unit, file=trim(out_file), access='stream', form='unformatted', &
        status='replace', action='write')
  ib = 0
  reloads = 0
  calls = 0
  bad_step = 0
  py_ticks = 0
  call system_clock(t0, rate)
  do step = 1, nsteps
    ! the network's sub-grid term for the current state (float32 model, one column per k)
    s32(1, :) = real(x, real32)
    call cl_model_forward(model, s32, u32, stat=stat, errmsg=msg)
    if (stat /= CL_OK) call fail(msg)
    u(:, 1) = real(u32(1, :), real64)

    ! the training pair of this step
    ib = ib + 1
    if (use_truth) then
      xb(:, ib) = xt
      call l96_subgrid_tendency(nk, nj, yt, h, b, c, ub(:, ib))
    else
      xb(:, ib) = x
      call l96_subgrid_tendency(nk, nj, y, h, b, c, ub(:, ib))
    end if

    ! advance the coarse model with the network (then Y driven by the coarse X), and the
    ! truth
    x_old = x
    call l96_coarse_rk4_step(nk, 1, x, forcing, u, dt)
    if (.not. use_truth) then
      do i = 1, substeps
        xin = x_old + (x - x_old) * ((i - 0.5_real64) / substeps)
        call fast_rk4_step(xin, dt / substeps)
      end do
    end if
    if (run_truth) then
      do i = 1, substeps
        call l96_two_scale_rk4_step(nk, nj, xt, yt, forcing, h, b, c, dt / substeps)
      end do
      if (nudging_tau > 0) x = x + (dt / nudging_tau) * (xt - x)
    end if
    if (bad_step == 0) then
      if (.not. (all(ieee_is_finite(x)) .and. all(ieee_is_finite(y)) .and. &
                 all(ieee_is_finite(xt)))) bad_step = step
    end if
    if (mod(step, every) == 0) write (out_unit) x

    ! every train_every steps: hand the batch to the trainer; reload when it re-exported
    if (ib == train_every) then
      call system_clock(p0)
      call cl_py_call(trim(trainer) // ':train', [cl_py_arg("x", xb), cl_py_arg("u", ub)], &
                      [cl_py_arg("reload", reload)], stat=stat, errmsg=msg)
      call system_clock(p1)
      py_ticks = py_ticks + (p1 - p0)
      if (stat /= CL_OK) call fail(msg)
      calls = calls + 1
      ib = 0
      if (reload(1) /= 0) then
        call cl_model_load(model, trim(model_path), stat=stat, errmsg=msg)
        if (stat /= CL_OK) call fail(msg)
        reloads = reloads + 1
      end if
    end if
  end do
  call system_clock(t1)
  close (out_unit)

  call cl_py_call(trim(trainer) // ':finish', [cl_py_array ::], stat=stat, errmsg=msg)
  if (stat /= CL_OK) call fail(msg)
  call cl_py_finalize()

  write (output_unit, '(a, i0)') 'RELOADS ', reloads
  write (output_unit, '(a, i0)') 'TRAIN_CALLS ', calls
  write (output_unit, '(a, es14.6)') 'SECONDS_PER_STEP ', &
    real(t1 - t0, real64) / real(rate, real64) / real(max(nsteps, 1), real64)
  write (output_unit, '(a, es14.6)') 'PYTHON_SECONDS ', real(py_ticks, real64) / real(rate, real64)
  write (output_unit, '(a, i0)') 'NONFINITE_STEP ', bad_step

contains

  !> One RK4 step of the fast variables Y with the large-scale X held at xs.
  subroutine fast_rk4_step(xs, tau)
    real(real64), intent(in) :: xs(:), tau
    real(real64) :: k1(nj * nk), k2(nj * nk), k3(nj * nk), k4(nj * nk)
    call l96_two_scale_tendency(nk, nj, xs, y, forcing, h, b, c, 1.0_real64, dxdt, k1)
    call l96_two_scale_tendency(nk, nj, xs, y + 0.5_real64 * tau * k1, forcing, h, b, c, &
                                1.0_real64, dxdt, k2)
    call l96_two_scale_tendency(nk, nj, xs, y + 0.5_real64 * tau * k2, forcing, h, b, c, &
                                1.0_real64, dxdt, k3)
    call l96_two_scale_tendency(nk, nj, xs, y + tau * k3, forcing, h, b, c, 1.0_real64, dxdt, k4)
    y = y + tau / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
  end subroutine fast_rk4_step

  subroutine fail(text)
    character(len=*), intent(in) :: text
    write (error_unit, '(2a)') 'l96_online: ', trim(text)
    error stop 1
  end subroutine fail
end program l96_online_main
